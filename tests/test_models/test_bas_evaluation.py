# Copyright (c) mmwsl contributors. All rights reserved.
"""The IoU and PxAP/PIoU cases of the BAS spec (section 7.2) through the
evaluation functions the BAS configs use (the box cases, which also cover
the BAS inference map, are in test_bas_model.py)."""

import numpy as np
import pytest

from mmwsl.evaluation.functional import (
    box_iou,
    pxap_from_histograms,
    pxap_histograms,
)

THRESHOLDS = np.arange(0, 1, 0.001)


@pytest.mark.parametrize(
    'box_a, box_b, expected',
    [
        ([0, 0, 9, 9], [0, 0, 9, 9], 1.0),
        ([0, 0, 9, 9], [5, 5, 14, 14], 0.142857),
        ([56, 56, 168, 168], [50, 60, 170, 160], 0.840613),
    ],
)
def test_iou_plus_one_convention(box_a, box_b, expected):
    iou = box_iou([box_a], [box_b], pixel_offset=1)[0, 0]
    assert iou == pytest.approx(expected, abs=1e-6)


SCORES = np.array([[0.9, 0.8], [0.3, 0.1]])
MASK = np.array([[1, 0], [1, 0]], dtype=np.uint8)


@pytest.mark.parametrize(
    'scores, mask, expected_pxap, expected_piou',
    [
        (SCORES, MASK, 83.333, 66.667),
        (MASK.astype(float), MASK, 100.0, 100.0),
        (SCORES, np.array([[1, 255], [1, 0]], dtype=np.uint8), 100.0, 100.0),
        (np.full((2, 2), 0.5), MASK, 50.0, 50.0),
    ],
)
def test_pxap_and_piou(scores, mask, expected_pxap, expected_piou):
    hist = pxap_histograms(scores, mask, THRESHOLDS)
    result = pxap_from_histograms(hist, THRESHOLDS)
    assert result['pxap'] == pytest.approx(expected_pxap, abs=1e-3)
    assert result['piou'] == pytest.approx(expected_piou, abs=1e-3)
