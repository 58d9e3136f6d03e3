# Copyright (c) mmwsl contributors. All rights reserved.
"""WSSS pseudo-label mIoU (spec 6.1, 6.2) and contour F-score (6.4)."""

import numpy as np
import pytest

from mmwsl.evaluation.functional import (
    cams_to_label_map,
    contour_fscore,
    iou_from_confusion,
    pseudo_label_miou,
)


def brute_force_miou(cams, labels, gts, t, num_classes, average):
    conf = np.zeros((num_classes, num_classes), np.int64)
    for cam, label, gt in zip(cams, labels, gts):
        # BAS: np.pad with constant t, argmax, keys [0, c + 1, ...].
        padded = np.concatenate(
            [np.full((1,) + cam.shape[1:], t, cam.dtype), cam]
        )
        keys = np.concatenate([[0], np.asarray(label) + 1])
        pred = keys[padded.argmax(0)]
        valid = gt != 255
        np.add.at(conf, (gt[valid], pred[valid]), 1)
    return iou_from_confusion(conf, average)['miou']


def random_set(seed, num=6, num_classes=5, shape=(12, 16)):
    rng = np.random.default_rng(seed)
    cams, labels, gts = [], [], []
    for i in range(num):
        k = i % 3  # 0, 1 or 2 positive classes (0: all background)
        label = np.sort(rng.choice(num_classes - 1, k, replace=False))
        cam = rng.random((k,) + shape).astype(np.float32)
        cam = np.round(cam * 20) / 20  # ties with each other and with t
        gt = rng.integers(0, num_classes, shape)
        gt[rng.random(shape) < 0.1] = 255
        cams.append(cam.astype(np.float32))
        labels.append(label)
        gts.append(gt)
    return cams, labels, gts


@pytest.mark.parametrize('average', ['nanmean', 'mean'])
def test_sweep_equals_per_threshold_brute_force(average):
    cams, labels, gts = random_set(0)
    thresholds = [0.3, 0.0, 0.05, 0.5, 0.35, 0.95, 1.0]
    result = pseudo_label_miou(
        cams, labels, gts, thresholds, num_classes=5, average=average
    )
    assert list(result) == thresholds
    for t in thresholds:
        assert result[t] == pytest.approx(
            brute_force_miou(cams, labels, gts, t, 5, average), abs=1e-9
        )


def test_background_wins_ties_and_float32_threshold():
    cam = np.array([[[0.3, 0.31, 0.2]]], np.float32)
    label = cams_to_label_map(cam, [4], 0.3)
    assert label.tolist() == [[0, 5, 0]]
    # float32(0.3) is not above the threshold 0.3 compared in float32.
    assert cams_to_label_map(
        np.full((1, 1, 1), 0.3, np.float32), [0], 0.3
    ).tolist() == [[0]]
    assert cams_to_label_map(np.zeros((0, 2, 2)), [], 0.1).tolist() == [
        [0, 0],
        [0, 0],
    ]


def test_nanmean_versus_mean():
    # Class 2 occurs in neither GT nor prediction.
    gt = np.array([[0, 0, 1, 1]])
    cam = np.array([[[0.0, 0.0, 0.9, 0.9]]])
    nanmean = pseudo_label_miou([cam], [[0]], [gt], [0.5], num_classes=3)
    mean = pseudo_label_miou(
        [cam], [[0]], [gt], [0.5], num_classes=3, average='mean'
    )
    assert nanmean[0.5] == pytest.approx(100.0)
    assert mean[0.5] == pytest.approx(200 / 3)


def test_bad_inputs_name_the_image():
    gt = np.zeros((2, 2), np.int64)
    cam = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match='image 0: .*shape'):
        pseudo_label_miou([cam], [[0]], [np.zeros((3, 2))], [0.5])
    with pytest.raises(
        ValueError, match=r'image 0: class keys must be in \[0, 19\]'
    ):
        pseudo_label_miou([cam], [[20]], [gt], [0.5], num_classes=21)
    with pytest.raises(ValueError, match='image 0: GT labels'):
        pseudo_label_miou([cam], [[0]], [np.full((2, 2), 30)], [0.5])
    with pytest.raises(ValueError, match='NaN'):
        pseudo_label_miou([np.full((1, 2, 2), np.nan)], [[0]], [gt], [0.5])
    with pytest.raises(
        ValueError, match='image 0: expected a \\(K, H, W\\) array'
    ):
        pseudo_label_miou([np.zeros((2, 2, 2))], [[0]], [gt], [0.5])


def square(rows, cols, shape=(10, 10), value=1):
    m = np.zeros(shape, np.int64)
    m[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1] = value
    return m


def test_contour_fscore_worked_examples():
    gt = square((2, 6), (2, 6))
    shifted = square((2, 6), (4, 8))
    res = contour_fscore([shifted], [gt], num_classes=2)
    assert res['fscore'] == pytest.approx(60.0)
    assert contour_fscore([gt], [gt], num_classes=2)['fscore'] == 100.0
    # Class 2 absent from both everywhere: F = 1 for it.
    res = contour_fscore([shifted], [gt], num_classes=3)
    assert res['per_class'].tolist() == pytest.approx([60.0, 100.0])
    # Prediction without GT (or GT without prediction): F = 0.
    res = contour_fscore([square((2, 6), (2, 6), value=2)], [gt], 3)
    assert res['per_class'].tolist() == [0.0, 0.0]
    # Void (255) counts as background.
    void = gt.copy()
    void[0, :] = 255
    assert contour_fscore([gt], [void], 2)['fscore'] == 100.0
