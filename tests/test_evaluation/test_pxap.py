# Copyright (c) mmwsl contributors. All rights reserved.
"""PxAP (spec 4): the worked examples of 9.3, the closed forms, and the
MaskEvaluatorTest cases of 7.3 on synthetic 224x224 masks."""
import numpy as np
import pytest

from mmwsl.evaluation.functional import (
    pxap,
    pxap_bin_edges,
    pxap_from_histograms,
    pxap_histograms,
    threshold_grid,
)
from mmwsl.evaluation.functional.pxap import _histogram

GRID = threshold_grid(0.01)


def pixels(*pairs):
    scores = np.array([[s for s, _ in pairs]], np.float64)
    labels = np.array([[label for _, label in pairs]], np.uint8)
    return [scores], [labels]


def test_worked_examples():
    assert pxap(*pixels((.9, 1), (.8, 0), (.3, 1), (.1, 0)),
                GRID) == pytest.approx(250 / 3)
    assert pxap(*pixels((.9, 1), (.8, 0), (.3, 1), (.1, 0), (1., 255),
                        (0., 255)), GRID) == pytest.approx(250 / 3)
    assert pxap(*pixels((.5, 1), (.5, 0), (.2, 1), (.7, 0)),
                GRID) == pytest.approx(125 / 3)


def test_histogram_matches_numpy():
    rng = np.random.default_rng(0)
    grid = threshold_grid(0.001)
    edges = pxap_bin_edges(grid)
    scores = np.concatenate(
        [rng.random(5000), grid[::7], [0., 1., 2., 3., 3.5, -0.1]])
    np.testing.assert_array_equal(
        _histogram(scores, edges),
        np.histogram(scores, bins=edges)[0])


def synthetic_mask(pos, neg, ignore, shape=(224, 224)):
    mask = np.zeros(shape[0] * shape[1], np.uint8)
    mask[:pos] = 1
    mask[pos + neg:pos + neg + ignore] = 255
    assert pos + neg + ignore == mask.size
    return np.random.default_rng(pos).permutation(mask).reshape(shape)


# The GT statistics of spec 7.3 (positives, negatives, ignored).
CASES = [(43031, 7145, 0), (833, 49343, 0), (347, 13910, 35919)]


@pytest.mark.parametrize('pos,neg,ignore', CASES)
@pytest.mark.parametrize('value', [0.0, 0.5, 1.0])
def test_constant_map_gives_positive_ratio(pos, neg, ignore, value):
    mask = synthetic_mask(pos, neg, ignore)
    auc = pxap([np.full(mask.shape, value)], [mask], GRID)
    assert auc == pytest.approx(100 * pos / (pos + neg))


@pytest.mark.parametrize('pos,neg,ignore', CASES)
@pytest.mark.parametrize('ignore_value', [0.0, 1.0])
def test_perfect_map_gives_exactly_100(pos, neg, ignore, ignore_value):
    mask = synthetic_mask(pos, neg, ignore)
    cam = (mask == 1).astype(np.float64)
    cam[mask == 255] = ignore_value
    assert pxap([cam], [mask], GRID) == 100.0


def test_no_positive_gt_and_all_positive():
    negative = np.zeros((224, 224), np.uint8)
    for value in (0.0, 1.0):
        with pytest.raises(RuntimeError, match='No positive ground truth'):
            pxap([np.full((224, 224), value)], [negative], GRID)
    positive = np.ones((224, 224), np.uint8)
    for value in (0.0, 1.0):
        assert pxap([np.full((224, 224), value)], [positive],
                    GRID) == pytest.approx(100.0)
    with pytest.raises(ValueError, match='NaN'):
        pxap([np.full((224, 224), np.nan)], [positive], GRID)


def test_dataset_level_accumulation():
    """PxAP is one curve over all pixels of all images, not a mean."""
    rng = np.random.default_rng(1)
    cams = [rng.random((20, 20)) for _ in range(3)]
    masks = [(rng.random((20, 20)) < p).astype(np.uint8) for p in (.2, .5,
                                                                   .8)]
    joint = pxap([np.concatenate(cams)], [np.concatenate(masks)], GRID)
    assert pxap(cams, masks, GRID) == pytest.approx(joint)


def test_curve_and_piou():
    hist = pxap_histograms(
        np.array([[0.9, 0.8, 0.3, 0.1]]), np.array([[1, 0, 1, 0]]), GRID)
    assert hist.shape == (2, len(GRID) + 2)
    result = pxap_from_histograms(hist, GRID)
    assert result['pxap'] == pytest.approx(250 / 3)
    # Best pixel IoU: threshold 0.3 -> TP 2, FP 1, FN 0 -> 2/3.
    assert result['piou'] == pytest.approx(200 / 3)
    assert result['thresholds'][0] == 2.0 and result['thresholds'][1] == 1.0
    assert len(result['precision']) == len(result['recall']) == len(GRID) + 2


def test_bad_masks():
    cam = np.zeros((4, 4))
    with pytest.raises(ValueError, match='shape'):
        pxap_histograms(cam, np.zeros((5, 4), np.uint8), GRID)
    with pytest.raises(ValueError, match='found \\[7\\]'):
        pxap_histograms(cam, np.full((4, 4), 7, np.uint8), GRID)
