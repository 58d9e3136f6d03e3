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

from .pseudo_label import IGNORE_INDEX, check_cams, check_gt


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
    cams, labels = check_cams(cams, labels, num_classes, name)
    gt = check_gt(gt_mask, cams.shape[1:], num_classes, ignore_index, name)
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
