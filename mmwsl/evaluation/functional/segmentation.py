# Copyright (c) mmwsl contributors. All rights reserved.
"""Streaming form of the pseudo-label mIoU sweep, for metric classes.

:class:`~mmwsl.evaluation.functional.ThresholdSweep` and
:func:`~mmwsl.evaluation.functional.pseudo_label_miou` hold the dense
counts of a whole data set. A metric under distributed evaluation instead
collects one small result per image: :func:`sweep_histogram` gives the
sparse (GT class, best class, threshold bin) counts of one image, the same
quantities (a pixel's best foreground class and score are all that matter,
compared in the maps' dtype; background wins ties);
:func:`add_sweep_histogram` sums them and :func:`sweep_confusions` turns the
sum into one confusion matrix per threshold (``specs/metrics.md`` 6.2).
"""

from typing import Sequence, Tuple

import numpy as np

from .scoremap import _to_numpy

IGNORE_INDEX = 255


def _check_cams(
    cams, labels, num_classes: int, name: str
) -> Tuple[np.ndarray, np.ndarray]:
    cams = _to_numpy(cams)
    labels = _to_numpy(labels).astype(np.int64).reshape(-1)
    if cams.ndim == 2:
        cams = cams[None]
    if cams.ndim != 3 or len(cams) != len(labels):
        raise ValueError(
            f'{name}: expected one (H, W) map per image label '
            f'({len(labels)} labels), got cams of shape '
            f'{tuple(cams.shape)}.'
        )
    if not np.issubdtype(cams.dtype, np.floating):
        raise TypeError(
            f'{name}: cams must be floating point, not {cams.dtype}.'
        )
    if np.isnan(cams).any():
        raise ValueError(f'{name}: cams must not contain NaN.')
    if ((labels < 0) | (labels >= num_classes - 1)).any():
        raise ValueError(
            f'{name}: foreground labels must be in '
            f'[0, {num_classes - 2}], got {labels.tolist()}.'
        )
    return cams, labels


def _check_gt(
    gt, shape, num_classes: int, ignore_index: int, name: str
) -> np.ndarray:
    gt = _to_numpy(gt)
    if gt.ndim == 3 and gt.shape[0] == 1:
        gt = gt[0]
    if gt.shape != tuple(shape):
        raise ValueError(
            f'{name}: the GT mask has shape {tuple(gt.shape)} '
            f'but the maps have shape {tuple(shape)}.'
        )
    gt = gt.astype(np.int64)
    bad = (gt != ignore_index) & ((gt < 0) | (gt >= num_classes))
    if bad.any():
        raise ValueError(
            f'{name}: GT labels must be in [0, {num_classes - 1}]'
            f' or {ignore_index}; found '
            f'{np.unique(gt[bad]).tolist()}.'
        )
    return gt


def _sorted_thresholds(bg_thresholds, dtype) -> Tuple[np.ndarray, np.ndarray]:
    thresholds = np.asarray(bg_thresholds, np.float64).reshape(-1)
    if np.issubdtype(dtype, np.floating):
        thresholds = thresholds.astype(dtype)
    order = np.argsort(thresholds, kind='stable')
    return thresholds[order], order


def sweep_histogram(
    cams,
    labels: Sequence[int],
    gt_mask,
    bg_thresholds: Sequence[float],
    num_classes: int = 21,
    ignore_index: int = IGNORE_INDEX,
    name: str = 'image',
) -> Tuple[np.ndarray, np.ndarray]:
    """Sparse per-image counts for a background-threshold sweep.

    Returns:
        tuple: ``pairs`` (P,) int64 codes ``gt * num_classes + pred`` of the
        (GT class, best foreground class) pairs that occur, and ``counts``
        (P, T + 1): pixels of each pair whose best score exceeds exactly
        ``b`` of the sorted thresholds, ``b = 0..T``. Summed over images
        with :func:`add_sweep_histogram`, it gives every threshold's
        confusion matrix (:func:`sweep_confusions`).
    """
    cams, labels = _check_cams(cams, labels, num_classes, name)
    gt = _check_gt(gt_mask, cams.shape[1:], num_classes, ignore_index, name)
    thresholds, _ = _sorted_thresholds(bg_thresholds, cams.dtype)
    valid = gt != ignore_index
    gt = gt[valid]
    if len(labels) == 0:
        pred = np.zeros_like(gt)
        above = np.zeros_like(gt)
    else:
        flat = cams[:, valid]
        best = flat.argmax(axis=0)
        score = np.take_along_axis(flat, best[None], axis=0)[0]
        pred = labels[best] + 1
        # Foreground at t_j iff score > t_j iff j < #(thresholds < score).
        above = np.searchsorted(thresholds, score, side='left')
    num_bins = len(thresholds) + 1
    code = gt * num_classes + pred
    pairs, pair_index = np.unique(code, return_inverse=True)
    counts = np.bincount(
        pair_index * num_bins + above, minlength=len(pairs) * num_bins
    )
    return pairs, counts.reshape(len(pairs), num_bins)


def add_sweep_histogram(
    total: np.ndarray, pairs: np.ndarray, counts: np.ndarray
) -> None:
    """Add :func:`sweep_histogram` output into a dense
    (num_classes, num_classes, T + 1) array, in place."""
    num_classes = total.shape[0]
    np.add.at(total.reshape(num_classes * num_classes, -1), pairs, counts)


def sweep_confusions(total: np.ndarray) -> np.ndarray:
    """Confusion matrices (T, C, C), rows GT and columns prediction, for
    each sorted threshold from the summed sweep histogram (C, C, T + 1)."""
    cum = np.cumsum(total, axis=2)  # pixels with at most b thresholds below
    num_thresholds = total.shape[2] - 1
    confusions = np.empty((num_thresholds,) + total.shape[:2], np.int64)
    for j in range(num_thresholds):
        background = cum[:, :, j]  # pixels with score <= t_j
        confusions[j] = cum[:, :, -1] - background
        confusions[j, :, 0] += background.sum(axis=1)
    return confusions
