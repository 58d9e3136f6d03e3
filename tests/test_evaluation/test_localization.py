# Copyright (c) mmwsl contributors. All rights reserved.
"""Top-k Loc / GT-known Loc with the BAS protocol (spec 3.3) and its
options (spec 9.1)."""
import numpy as np
import pytest

from mmwsl.evaluation.functional import loc_accuracy, topk_correct


def block_cam(x0, y0, x1, y1, size=20, value=0.8):
    cam = np.zeros((size, size), np.float32)
    cam[y0:y1, x0:x1] = value
    return cam


def test_topk_correct_ties_rank_lower_index_first():
    scores = np.array([0.1, 0.5, 0.5, 0.2])
    assert topk_correct(scores, 1, (1, 2)) == {1: True, 2: True}
    assert topk_correct(scores, 2, (1, 2)) == {1: False, 2: True}
    assert topk_correct(scores, 3, (1, 2, 3)) == {1: False, 2: False, 3: True}
    with pytest.raises(ValueError, match='out of range'):
        topk_correct(scores, 4)


def test_loc_accuracy_bas_protocol():
    # GT [2, 2, 11, 11] (10x10). BAS boxes are exclusive: a block over
    # rows/cols 2..11 gives [2, 2, 12, 12] (11x11 under +1): IoU 100/121.
    gt = np.array([[2, 2, 11, 11]])
    cams = [
        block_cam(2, 2, 12, 12),  # IoU 0.826
        block_cam(2, 2, 8, 8),  # [2,2,8,8]: 49/100
        block_cam(2, 2, 12, 12, value=0.05),  # empty at 0.1: whole image
        block_cam(2, 2, 12, 12),
    ]
    scores = [
        np.array([0.9, 0.1, 0.0]),  # top-1 correct (label 0)
        np.array([0.9, 0.1, 0.0]),
        np.array([0.1, 0.9, 0.0]),  # label 0 is 2nd
        np.array([0.0, 0.1, 0.9]),  # label 0 is 3rd
    ]
    res = loc_accuracy(cams, [gt] * 4, [0] * 4, scores, thresholds=[0.1],
                       topk=(1, 2))
    # Whole-image box of image 3: [0,0,20,20] vs GT: 100/441 < 0.3.
    assert res['gt_known'] == 50.0
    assert res['top1_loc'] == 25.0
    assert res['top2_loc'] == 25.0
    assert res['top1_cls'] == 50.0 and res['top2_cls'] == 75.0
    assert res['iou30'] == 75.0 and res['iou50'] == 50.0
    assert res['iou70'] == 50.0
    assert res['mean_iou_acc'] == pytest.approx(175 / 3)
    assert res['best_threshold'] == pytest.approx(0.1)


def test_threshold_selection_top1_plus_gt_known_first_max():
    gt = [np.array([[2, 2, 11, 11]])]
    cam = block_cam(2, 2, 12, 12, value=0.5)
    cam[0:20, 0:20] += 0.2  # everything > 0.1, only the block > 0.6
    res = loc_accuracy([cam], gt, [0], [np.array([1.0, 0.0])],
                       thresholds=[0.1, 0.6, 0.65])
    assert res['best_threshold'] == pytest.approx(0.6)
    assert res['curves']['gt_known'].tolist() == [0.0, 100.0, 100.0]
    assert res['top1_loc'] == 100.0


def test_options_iou_convention_strictness_and_class_balance():
    # BAS box [0,0,2,2] vs GT [0,0,1,1]: +1 IoU 4/9, continuous IoU 1/4.
    cam = block_cam(0, 0, 2, 2, size=6)
    gt = [np.array([[0, 0, 1, 1]])]
    pixel = loc_accuracy([cam], gt, thresholds=[0.5], iou_thresholds=(40, ))
    assert pixel['iou40'] == 100.0
    cont = loc_accuracy([cam], gt, thresholds=[0.5], iou_thresholds=(25, ),
                        pixel_offset=0)
    assert cont['iou25'] == 100.0
    strict = loc_accuracy([cam], gt, thresholds=[0.5],
                          iou_thresholds=(25, ), pixel_offset=0, strict=True)
    assert strict['iou25'] == 0.0
    # Class balance: class 0 has 3 images (all localised), class 1 one
    # image (missed): 75 per image, 50 per class.
    good = block_cam(2, 2, 12, 12)
    bad = block_cam(15, 15, 19, 19)
    gts = [np.array([[2, 2, 11, 11]])] * 4
    cams = [good, good, good, bad]
    assert loc_accuracy(cams, gts, [0, 0, 0, 1])['gt_known'] == 75.0
    assert loc_accuracy(cams, gts, [0, 0, 0, 1],
                        class_balanced=True)['gt_known'] == 50.0


def test_wsolevaluation_box_rule():
    cam = np.zeros((20, 20))
    cam[2:12, 2:12] = 1.0
    gt = [np.array([[2, 2, 11, 11]])]
    # wsolevaluation box [2,2,12,12] too (boundingRect w is exclusive).
    res = loc_accuracy([cam], gt, thresholds=[0.5],
                       box_rule='wsolevaluation')
    assert res['gt_known'] == 100.0
    with pytest.raises(ValueError, match='box_rule'):
        loc_accuracy([cam], gt, box_rule='nope')
    with pytest.raises(ValueError, match='gt_labels'):
        loc_accuracy([cam], gt, cls_scores=[np.zeros(3)])
