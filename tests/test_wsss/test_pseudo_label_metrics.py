# Copyright (c) mmwsl contributors. All rights reserved.
"""Pseudo-label mIoU and contour F-score (specs/metrics.md 6, hfpl.md 9.5)."""

import numpy as np
import pytest

from mmwsl.evaluation.functional import (
    ThresholdSweep,
    cams_to_label_map,
    confusion_matrix,
    contour_fscore,
    iou_from_confusion,
    pseudo_label_miou,
)
from mmwsl.evaluation.functional.contour_fscore import (
    boundary_tolerance,
    contour_counts,
    disk,
    seg_boundary,
)


def brute_force_miou(cams, labels, gts, t, num_classes, average):
    """Per-pixel reference: label every pixel with a Python loop."""
    conf = np.zeros((num_classes, num_classes), np.int64)
    for cam, keys, gt in zip(cams, labels, gts):
        h, w = gt.shape
        for y in range(h):
            for x in range(w):
                if gt[y, x] == 255:
                    continue
                # Compared in the maps' dtype, as BAS pads its float32
                # CAMs with the threshold.
                scores = [cam.dtype.type(t)] + [c[y, x] for c in cam]
                k = int(np.argmax(scores))  # first maximum: background ties
                pred = 0 if k == 0 else keys[k - 1] + 1
                conf[gt[y, x], pred] += 1
    return iou_from_confusion(conf, average)['miou']


def test_label_rule_background_wins_ties():
    cams = np.array(
        [[[0.25, 0.3], [0.1, 0.9]], [[0.2, 0.3], [0.5, 0.9]]], np.float32
    )
    label = cams_to_label_map(cams, [2, 7], 0.25)
    # (0,0): 0.25 ties the background -> 0; (0,1): two maps tie, the first
    # (class 2) wins; (1,0): class 7 has 0.5; (1,1): first map wins.
    np.testing.assert_array_equal(label, [[0, 3], [8, 3]])
    # An (H, W) background score map works the same way.
    bg = np.array([[0.0, 0.5], [0.6, 0.0]])
    np.testing.assert_array_equal(
        cams_to_label_map(cams, [2, 7], bg), [[3, 0], [0, 3]]
    )
    # No positive class: all background.
    np.testing.assert_array_equal(
        cams_to_label_map(np.zeros((0, 2, 3)), [], 0.1), np.zeros((2, 3))
    )


def test_confusion_mean_conventions():
    # 3 classes; class 2 absent from GT and prediction.
    gt = np.array([[0, 0, 1, 1], [0, 255, 1, 1]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    conf = confusion_matrix(pred, gt, 3)
    np.testing.assert_array_equal(conf, [[2, 1, 0], [1, 3, 0], [0, 0, 0]])
    nan = iou_from_confusion(conf, 'nanmean')
    mean = iou_from_confusion(conf, 'mean')
    # IoU_0 = 2 / (3 + 3 - 2) = 0.5, IoU_1 = 3 / (4 + 4 - 3) = 0.6.
    assert nan['miou'] == pytest.approx(55.0)
    assert np.isnan(nan['iou'][2])
    assert mean['miou'] == pytest.approx(110 / 3)
    assert nan['fg_miou'] == pytest.approx(60.0)
    # FP_1 = (P - TP) / union = 1 / 5, FN_1 = (T - TP) / union = 1 / 5.
    assert nan['fp'][1] == pytest.approx(20.0)
    assert nan['fn'][1] == pytest.approx(20.0)
    with pytest.raises(ValueError, match='average'):
        iou_from_confusion(conf, 'median')


def test_sweep_matches_brute_force():
    rng = np.random.default_rng(0)
    cams, labels, gts = [], [], []
    for _ in range(4):
        keys = sorted(rng.choice(5, rng.integers(0, 3), replace=False))
        h, w = rng.integers(5, 9, 2)
        cam = rng.random((len(keys), h, w)).astype(np.float32)
        cam[:, 0, 0] = 0.3  # exact ties with a threshold
        gt = rng.integers(0, 6, (h, w))
        gt[rng.random((h, w)) < 0.1] = 255
        cams.append(cam)
        labels.append([int(k) for k in keys])
        gts.append(gt)
    thresholds = [0.5, 0.0, 0.3, 0.75, 0.3]
    for average in ('nanmean', 'mean'):
        got = pseudo_label_miou(
            cams, labels, gts, thresholds, 6, average=average
        )
        assert list(got) == [0.5, 0.0, 0.3, 0.75]
        for t in thresholds:
            assert got[t] == pytest.approx(
                brute_force_miou(cams, labels, gts, t, 6, average)
            )


def test_sweep_label_maps_and_all_background():
    gt = np.array([[0, 1], [2, 255]])
    sweep = ThresholdSweep(3, [0.1, 0.9])
    sweep.add_label_map(np.array([[0, 1], [1, 0]]), gt)
    confs = sweep.confusions()
    np.testing.assert_array_equal(confs[0], confs[1])
    np.testing.assert_array_equal(confs[0], [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    # All-background prediction: only the background IoU is non-zero.
    res = pseudo_label_miou(
        [np.zeros((1, 2, 2), np.float32)], [[0]], [gt], [0.0], num_classes=3
    )
    assert res[0.0] == pytest.approx(100 / 3 / 3)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='img7: class keys'):
        ThresholdSweep(3, [0.2]).add_cams(
            np.zeros((1, 2, 2), np.float32), [2], np.zeros((2, 2)), name='img7'
        )
    with pytest.raises(ValueError, match='GT mask has shape'):
        ThresholdSweep(3, [0.2]).add_cams(
            np.zeros((1, 2, 2), np.float32), [0], np.zeros((3, 2))
        )
    with pytest.raises(ValueError, match=r'GT labels must be in \[0, 2\]'):
        ThresholdSweep(3, [0.2]).add_cams(
            np.zeros((1, 2, 2), np.float32), [0], np.full((2, 2), 7)
        )
    with pytest.raises(ValueError, match='one map per class key'):
        ThresholdSweep(3, [0.2]).add_cams(
            np.zeros((2, 2, 2), np.float32), [0], np.zeros((2, 2))
        )
    with pytest.raises(ValueError, match='NaN'):
        cams_to_label_map(np.full((1, 2, 2), np.nan), [0], 0.2)
    with pytest.raises(ValueError, match='got 1 CAM arrays, 2 label'):
        pseudo_label_miou([np.zeros((1, 2, 2))], [[0], [1]], [None], [0.1])


def test_contour_fscore_spec_case():
    """hfpl.md 9.5: 10x10, GT square rows/cols 2-6, prediction shifted
    right by 2 -> P = R = F = 0.6; identical maps -> 1."""
    assert boundary_tolerance(10, 10) == 1
    assert boundary_tolerance(375, 500) == 5
    assert boundary_tolerance(224, 224) == 3
    np.testing.assert_array_equal(disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    gt = np.zeros((10, 10), np.int64)
    gt[2:7, 2:7] = 1
    pred = np.zeros_like(gt)
    pred[2:7, 4:9] = 1
    bmap = seg_boundary(gt == 1)
    assert bmap.sum() == 20
    assert bmap[1:7, 1:7].sum() == 20
    counts = contour_counts(pred, gt, 2)
    np.testing.assert_array_equal(counts, [[12, 12, 20, 20]])
    res = contour_fscore([pred], [gt], num_classes=2)
    assert res['fscore'] == pytest.approx(60.0)
    assert contour_fscore([gt], [gt], num_classes=2)['fscore'] == 100.0
    # A class absent from both maps everywhere scores 1; 255 counts as
    # background.
    gt255 = gt.copy()
    gt255[0, 0] = 255
    res = contour_fscore([pred], [gt255], num_classes=3)
    np.testing.assert_allclose(res['per_class'], [60.0, 100.0])
    assert res['fscore'] == pytest.approx(80.0)
    # Predicted but never in GT: F = 0.
    assert (
        contour_fscore([pred], [np.zeros_like(gt)], num_classes=2)['fscore']
        == 0.0
    )
    with pytest.raises(ValueError, match='one shape'):
        contour_fscore([pred], [gt[:5]], num_classes=2)
