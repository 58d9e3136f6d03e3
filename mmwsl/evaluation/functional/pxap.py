# Copyright (c) mmwsl contributors. All rights reserved.
"""Pixel average precision, PxAP (``specs/metrics.md`` section 4).

Scores are histogrammed over the bins ``[0, bw), ..., [1 - bw, 1), [1, 2),
[2, 3]`` (edges ``thresholds ++ [1, 2, 3]``) separately for positive and
negative GT pixels, summed over the whole split, and the precision-recall
curve of "score >= lower bin edge" gives the step-sum AP, exactly as
wsolevaluation's ``MaskEvaluator`` (and BAS's ``count_pxap.py``). Ignore
pixels (255) are excluded from both histograms.
"""
from typing import Dict, Sequence

import numpy as np

from .box_extraction import _as_thresholds
from .scoremap import _to_numpy, check_scoremap

IGNORE_INDEX = 255


def pxap_bin_edges(thresholds: Sequence[float]) -> np.ndarray:
    """Histogram edges: the thresholds followed by 1, 2 and 3."""
    return np.append(_as_thresholds(thresholds), [1.0, 2.0, 3.0])


def check_mask(gt_mask, shape, name: str = 'gt_mask') -> np.ndarray:
    """Validate a PxAP mask (1 object, 0 background, 255 ignore)."""
    gt_mask = _to_numpy(gt_mask)
    if gt_mask.ndim == 3 and gt_mask.shape[0] == 1:
        gt_mask = gt_mask[0]
    if gt_mask.shape != tuple(shape):
        raise ValueError(f'{name} has shape {tuple(gt_mask.shape)}, but the '
                         f'score map has shape {tuple(shape)}; both must be '
                         'at the network-input resolution.')
    bad = ~np.isin(gt_mask, (0, 1, IGNORE_INDEX))
    if bad.any():
        raise ValueError(f'{name} may only hold 0 (background), 1 (object) '
                         f'and {IGNORE_INDEX} (ignore); found '
                         f'{np.unique(gt_mask[bad]).tolist()}.')
    return gt_mask


def _histogram(scores: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(scores, bins=edges)[0]`` without sorting the scores.

    Bins are closed on the left, the last one also on the right; scores
    outside ``[edges[0], edges[-1]]`` are dropped.
    """
    num_bins = len(edges) - 1
    index = np.searchsorted(edges, scores, side='right') - 1
    index[scores == edges[-1]] = num_bins - 1
    index = index[(index >= 0) & (index < num_bins)]
    return np.bincount(index, minlength=num_bins)


def pxap_histograms(cam, gt_mask, thresholds: Sequence[float],
                    name: str = 'cam') -> np.ndarray:
    """Score histograms of one image's positive and negative pixels.

    Returns:
        np.ndarray: int64 array of shape (2, len(thresholds) + 2): row 0
        counts GT-positive pixels, row 1 GT-negative ones.
    """
    cam = check_scoremap(cam, name)
    gt_mask = check_mask(gt_mask, cam.shape, f'{name}: gt_mask')
    edges = pxap_bin_edges(thresholds)
    return np.stack([
        _histogram(cam[gt_mask == 1], edges),
        _histogram(cam[gt_mask == 0], edges)
    ])


def pxap_from_histograms(histograms: np.ndarray,
                         thresholds: Sequence[float]) -> Dict:
    """PxAP, pIoU and the precision-recall curve from summed histograms.

    Args:
        histograms: (2, T + 2) summed positive/negative histograms.
        thresholds: the T thresholds the histograms were made with.

    Returns:
        dict: ``pxap`` (percent), ``piou`` (BAS's best pixel IoU, percent),
        ``precision``, ``recall`` and ``thresholds`` (the lower bin edges,
        descending, from 2.0 down to 0.0) of the curve.

    Raises:
        RuntimeError: without positive GT pixels, or without any positive
            prediction (wsolevaluation's errors).
    """
    pos_hist, neg_hist = np.asarray(histograms, dtype=np.float64)
    tp = pos_hist[::-1].cumsum()
    fp = neg_hist[::-1].cumsum()
    fn = pos_hist.sum() - tp
    if ((tp + fn) <= 0).all():
        raise RuntimeError('No positive ground truth in the eval set.')
    if ((tp + fp) <= 0).all():
        raise RuntimeError('No positive prediction in the eval set.')
    predicted = (tp + fp) != 0
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        iou = tp / (tp + fp + fn)
    auc = (precision[1:] * np.diff(recall))[predicted[1:]].sum() * 100
    lower_edges = pxap_bin_edges(thresholds)[:-1][::-1]
    return {
        'pxap': float(auc),
        'piou': float(np.nanmax(iou) * 100),
        'precision': precision,
        'recall': recall,
        'thresholds': lower_edges,
    }


def pxap(cams: Sequence, gt_masks: Sequence,
         thresholds: Sequence[float]) -> float:
    """Pixel average precision (percent) over a set of images.

    Args:
        cams: (H, W) maps in [0, 1].
        gt_masks: (H, W) masks of the same shape: 1 object, 0 background,
            255 ignore.
        thresholds: bin lower edges ``np.arange(0, 1, bw)``; ``bw`` 0.001
            (wsolevaluation training runs, BAS) or 0.01 (its CLI).
    """
    if len(cams) != len(gt_masks):
        raise ValueError(f'{len(cams)} cams but {len(gt_masks)} masks.')
    if len(cams) == 0:
        raise ValueError('PxAP needs at least one image.')
    total = 0
    for i, (cam, mask) in enumerate(zip(cams, gt_masks)):
        total = total + pxap_histograms(cam, mask, thresholds, f'cams[{i}]')
    return pxap_from_histograms(total, thresholds)['pxap']
