# Copyright (c) mmwsl contributors. All rights reserved.
"""WSOLMetric and PseudoLabelMetric as mmengine metrics."""
import json

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsl.evaluation import PseudoLabelMetric, WSOLMetric
from mmwsl.evaluation.functional import (
    loc_accuracy,
    max_box_acc,
    pseudo_label_miou,
    pxap,
    threshold_grid,
)
from mmwsl.registry import METRICS


def wsol_sample(idx, cam, boxes=None, mask=None, label=0, scores=None):
    sample = DataSample(metainfo=dict(
        img_path=f'img_{idx}.jpg', sample_idx=idx, img_shape=cam.shape))
    sample.set_gt_label(label)
    if scores is not None:
        sample.set_pred_score(torch.tensor(scores, dtype=torch.float32))
    sample.set_field(torch.from_numpy(cam), 'cam', field_type='data')
    if boxes is not None:
        sample.set_field(
            torch.tensor(boxes, dtype=torch.float32), 'gt_bboxes',
            field_type='data')
    if mask is not None:
        sample.set_field(torch.from_numpy(mask), 'gt_mask', field_type='data')
    return sample.to_dict()


def random_wsol_set(num=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    cams, boxes, masks, labels, scores = [], [], [], [], []
    for i in range(num):
        cam = np.zeros((size, size))
        y, x = rng.integers(4, size - 12, 2)
        cam[y:y + 8, x:x + 10] = 1
        cam += 0.3 * rng.random((size, size))
        cam = ((cam - cam.min()) / (cam.max() - cam.min())).astype(
            np.float32)
        cams.append(cam)
        boxes.append([[x - 1, y, x + 9, y + 8]])
        mask = np.zeros((size, size), np.uint8)
        mask[y:y + 7, x:x + 10] = 1
        mask[0, :] = 255
        masks.append(mask)
        labels.append(i % 3)
        scores.append(rng.random(3))
    return cams, boxes, masks, labels, scores


def run_metric(metric, samples, size=None):
    metric.process(None, samples)
    return metric.evaluate(size or len(samples))


def test_wsol_metric_matches_functional(tmp_path):
    cams, boxes, masks, labels, scores = random_wsol_set()
    samples = [
        wsol_sample(i, c, b, m, label, s)
        for i, (c, b, m, label, s) in enumerate(
            zip(cams, boxes, masks, labels, scores))
    ]
    metric = METRICS.build(
        dict(type='mmwsl.WSOLMetric', cam_curve_interval=0.01,
             out_dir=str(tmp_path), topk=(1, 2)))
    res = run_metric(metric, samples)

    grid = threshold_grid(0.01)
    cams64 = [c.astype(np.float64) for c in cams]
    gts = [np.array(b) for b in boxes]
    v2 = max_box_acc(cams64, gts, grid)
    assert res['wsol/MaxBoxAccV2'] == pytest.approx(v2['mean'])
    for d in (30, 50, 70):
        assert res[f'wsol/MaxBoxAcc@{d}'] == pytest.approx(v2['acc'][d])
        assert res[f'wsol/best_tau@{d}'] == pytest.approx(
            v2['best_threshold'][d])
    bas = loc_accuracy(cams, gts, labels, scores, thresholds=[0.1],
                       topk=(1, 2))
    for key in ('gt_known', 'top1_loc', 'top2_loc', 'top1_cls', 'top2_cls'):
        assert res[f'wsol/{key}'] == pytest.approx(bas[key])
    assert res['wsol/PxAP'] == pytest.approx(pxap(cams64, masks, grid))
    assert 0 <= res['wsol/pIoU'] <= 100

    for name in ('box_acc_curve', 'pxap_pr_curve'):
        assert (tmp_path / f'{name}.png').stat().st_size > 0
    curve = json.loads((tmp_path / 'box_acc_curve.json').read_text())
    assert len(curve['x']) == 100
    assert max(curve['curves']['IoU 50']) == pytest.approx(v2['acc'][50])


def test_wsol_metric_maxboxacc_v1_and_protocol_subset():
    cams, boxes, *_ = random_wsol_set()
    samples = [wsol_sample(i, c, b) for i, (c, b) in enumerate(zip(cams,
                                                                   boxes))]
    metric = WSOLMetric(box_v2=False, protocols=['wsolevaluation'],
                        plot=False, cam_curve_interval=0.01)
    res = run_metric(metric, samples)
    v1 = max_box_acc([c.astype(np.float64) for c in cams],
                     [np.array(b) for b in boxes], threshold_grid(0.01),
                     multi_contour=False)
    assert res['wsol/MaxBoxAcc'] == pytest.approx(v1['acc'][50])
    assert 'wsol/MaxBoxAccV2' not in res and 'wsol/gt_known' not in res
    with pytest.raises(ValueError, match='must contain 50'):
        WSOLMetric(box_v2=False, iou_thresholds=(30, 70))
    with pytest.raises(ValueError, match='unknown protocols'):
        WSOLMetric(protocols=['maxboxacc'])


def test_wsol_metric_drops_distributed_padding():
    """mmengine pads the last batch of each rank; evaluate(size) must see
    only the real samples."""
    cams, boxes, masks, labels, scores = random_wsol_set(num=5)
    samples = [
        wsol_sample(i, c, b, m, label, s)
        for i, (c, b, m, label, s) in enumerate(
            zip(cams, boxes, masks, labels, scores))
    ]
    exact = run_metric(WSOLMetric(plot=False), samples)
    padded = run_metric(WSOLMetric(plot=False), samples + samples[:3],
                        size=len(samples))
    assert padded == exact


def test_wsol_metric_bad_samples_are_named():
    cam = np.zeros((16, 16), np.float32)
    cam[4:8, 4:8] = 1
    nan = cam.copy()
    nan[0, 0] = np.nan
    metric = WSOLMetric(plot=False)
    with pytest.raises(ValueError, match='img_3.jpg: .*NaN'):
        metric.process(None, [wsol_sample(3, nan, [[4, 4, 7, 7]])])
    bad_shape = wsol_sample(4, cam, [[4, 4, 7, 7]])
    bad_shape['img_shape'] = (32, 32)
    with pytest.raises(ValueError, match='img_4.jpg: .*network-input'):
        metric.process(None, [bad_shape])
    with pytest.raises(RuntimeError, match='img_5.jpg: .*x0y0x1y1'):
        metric.process(None, [wsol_sample(5, cam, [[8, 4, 2, 7]])])
    with pytest.raises(ValueError, match='img_6.jpg: .*shape'):
        metric.process(None,
                       [wsol_sample(6, cam, mask=np.zeros((8, 8), np.uint8))])
    no_cam = wsol_sample(7, cam, [[4, 4, 7, 7]])
    del no_cam['cam']
    with pytest.raises(KeyError, match='img_7.jpg'):
        metric.process(None, [no_cam])


def seg_sample(idx, cam, gt, cam_labels=None, gt_score=None):
    sample = dict(img_path=f'voc_{idx}.jpg', cam=torch.from_numpy(cam),
                  gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))
    if cam_labels is not None:
        sample['cam_labels'] = torch.tensor(cam_labels)
    if gt_score is not None:
        sample['gt_score'] = torch.tensor(gt_score)
    return sample


def test_pseudo_label_metric(tmp_path):
    rng = np.random.default_rng(0)
    cams, labels, gts = [], [], []
    for i in range(4):
        gt = np.zeros((10, 12), np.int64)
        c = i % 4
        gt[2:7, 3:9] = c + 1
        gt[0, 0] = 255
        cam = np.zeros((1, 10, 12), np.float32)
        cam[0, 2:7, 3:9] = 0.6
        cam += 0.3 * rng.random(cam.shape).astype(np.float32)
        cams.append(cam)
        labels.append([c])
        gts.append(gt)
    thresholds = [0.1, 0.2, 0.4, 0.55]
    expected = pseudo_label_miou(cams, labels, gts, thresholds,
                                 num_classes=5)
    best_t = max(expected, key=expected.get)

    metric = PseudoLabelMetric(num_classes=5, bg_thresholds=thresholds,
                               out_dir=str(tmp_path))
    samples = [seg_sample(i, c, g, cam_labels=lab)
               for i, (c, lab, g) in enumerate(zip(cams, labels, gts))]
    res = run_metric(metric, samples)
    assert res['pseudo_label/mIoU'] == pytest.approx(expected[best_t])
    assert res['pseudo_label/bg_threshold'] == best_t
    assert (tmp_path / 'pseudo_label_miou_curve.png').is_file()

    # The same maps as full (C - 1)-channel CAMs selected by gt_score.
    full = []
    for i, (c, lab, g) in enumerate(zip(cams, labels, gts)):
        cam = np.zeros((4, 10, 12), np.float32)
        cam[lab[0]] = c[0]
        cam[(lab[0] + 1) % 4] = 0.99  # not an image class: ignored
        score = np.zeros(4, np.float32)
        score[lab[0]] = 1
        full.append(seg_sample(i, cam, g, gt_score=score))
    metric = PseudoLabelMetric(num_classes=5, bg_thresholds=thresholds,
                               plot=False)
    assert run_metric(metric, full) == res


def test_pseudo_label_metric_errors():
    metric = PseudoLabelMetric(num_classes=5, plot=False)
    cam = np.zeros((3, 4, 4), np.float32)
    gt = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match='voc_0.jpg: cam has 3 channels'):
        metric.process(None, [seg_sample(0, cam, gt)])
    with pytest.raises(ValueError, match='voc_1.jpg: .*shape'):
        metric.process(None, [
            seg_sample(1, cam[:1], np.zeros((5, 4), np.int64), cam_labels=[0])
        ])
    with pytest.raises(ValueError, match='average'):
        PseudoLabelMetric(average='median')
