# Copyright (c) mmwsl contributors. All rights reserved.
"""WSSS pseudo-label quality (``specs/metrics.md`` section 6).

* :func:`cams_to_label`: label map from an image's class CAMs with a
  constant background score (6.1).
* :func:`pseudo_label_miou`: confusion-matrix mIoU with ignore label 255 for a
  sweep of background thresholds (6.2), in one pass over the images: for a
  pixel, only its best foreground class and score matter, so the counts per
  (GT class, best class, threshold bin) give the confusion matrix at every
  threshold.
* :func:`contour_fscore`: HFPL's dataset-level boundary F-score (6.4).
"""
import warnings
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from .scoremap import _to_numpy

IGNORE_INDEX = 255


def _check_cams(cams, labels, num_classes: int,
                name: str) -> Tuple[np.ndarray, np.ndarray]:
    cams = _to_numpy(cams)
    labels = _to_numpy(labels).astype(np.int64).reshape(-1)
    if cams.ndim == 2:
        cams = cams[None]
    if cams.ndim != 3 or len(cams) != len(labels):
        raise ValueError(f'{name}: expected one (H, W) map per image label '
                         f'({len(labels)} labels), got cams of shape '
                         f'{tuple(cams.shape)}.')
    if not np.issubdtype(cams.dtype, np.floating):
        raise TypeError(f'{name}: cams must be floating point, not '
                        f'{cams.dtype}.')
    if np.isnan(cams).any():
        raise ValueError(f'{name}: cams must not contain NaN.')
    if ((labels < 0) | (labels >= num_classes - 1)).any():
        raise ValueError(f'{name}: foreground labels must be in '
                         f'[0, {num_classes - 2}], got {labels.tolist()}.')
    return cams, labels


def _check_gt(gt, shape, num_classes: int, ignore_index: int,
              name: str) -> np.ndarray:
    gt = _to_numpy(gt)
    if gt.ndim == 3 and gt.shape[0] == 1:
        gt = gt[0]
    if gt.shape != tuple(shape):
        raise ValueError(f'{name}: the GT mask has shape {tuple(gt.shape)} '
                         f'but the maps have shape {tuple(shape)}.')
    gt = gt.astype(np.int64)
    bad = (gt != ignore_index) & ((gt < 0) | (gt >= num_classes))
    if bad.any():
        raise ValueError(f'{name}: GT labels must be in [0, {num_classes - 1}]'
                         f' or {ignore_index}; found '
                         f'{np.unique(gt[bad]).tolist()}.')
    return gt


def cams_to_label(cams, labels: Sequence[int],
                  bg_threshold: float) -> np.ndarray:
    """Label map ``keys[argmax([t, A_1, ..., A_m])]`` (spec 6.1).

    Args:
        cams: (K, H, W) normalised maps of the image's K positive classes.
        labels: their K foreground class indices (0-based, without
            background), i.e. map k is class ``labels[k] + 1`` in the label
            map.
        bg_threshold: the constant background score t; background wins
            ties, and the threshold is compared in the maps' precision.

    Returns:
        np.ndarray: (H, W) int64 label map, 0 = background.
    """
    cams, labels = _check_cams(cams, labels, np.iinfo(np.int64).max,
                               'cams_to_label')
    if len(labels) == 0:
        return np.zeros(cams.shape[1:], np.int64)
    best = cams.argmax(axis=0)
    score = np.take_along_axis(cams, best[None], axis=0)[0]
    foreground = score > cams.dtype.type(bg_threshold)
    return np.where(foreground, labels[best] + 1, 0)


def _sorted_thresholds(bg_thresholds, dtype) -> Tuple[np.ndarray, np.ndarray]:
    thresholds = np.asarray(bg_thresholds, np.float64).reshape(-1)
    if np.issubdtype(dtype, np.floating):
        thresholds = thresholds.astype(dtype)
    order = np.argsort(thresholds, kind='stable')
    return thresholds[order], order


def sweep_histogram(cams,
                    labels: Sequence[int],
                    gt_mask,
                    bg_thresholds: Sequence[float],
                    num_classes: int = 21,
                    ignore_index: int = IGNORE_INDEX,
                    name: str = 'image') -> Tuple[np.ndarray, np.ndarray]:
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
    counts = np.bincount(pair_index * num_bins + above,
                         minlength=len(pairs) * num_bins)
    return pairs, counts.reshape(len(pairs), num_bins)


def add_sweep_histogram(total: np.ndarray, pairs: np.ndarray,
                        counts: np.ndarray) -> None:
    """Add :func:`sweep_histogram` output into a dense
    (num_classes, num_classes, T + 1) array, in place."""
    num_classes = total.shape[0]
    np.add.at(total.reshape(num_classes * num_classes, -1), pairs, counts)


def sweep_confusions(total: np.ndarray) -> np.ndarray:
    """Confusion matrices (T, C, C), rows GT and columns prediction, for
    each sorted threshold from the summed sweep histogram (C, C, T + 1)."""
    cum = np.cumsum(total, axis=2)  # pixels with at most b thresholds below
    num_thresholds = total.shape[2] - 1
    confusions = np.empty((num_thresholds, ) + total.shape[:2], np.int64)
    for j in range(num_thresholds):
        background = cum[:, :, j]  # pixels with score <= t_j
        confusions[j] = cum[:, :, -1] - background
        confusions[j, :, 0] += background.sum(axis=1)
    return confusions


def segmentation_iou(confusion: np.ndarray,
                     average: str = 'nanmean') -> Dict[str, np.ndarray]:
    """IoU from a (C, C) confusion matrix (rows GT, columns prediction).

    Args:
        average (str): ``'nanmean'`` (chainercv, used by IRN and BAS):
            classes with an empty union are skipped; ``'mean'`` (CCAM, HFPL,
            PuzzleCAM): ``TP / (union + 1e-10)`` averaged over all classes,
            so an absent class counts 0.

    Returns:
        dict: ``iou`` per class, ``miou``, ``fg_miou`` (classes >= 1), and
        the per-class false-positive and false-negative ratios ``fp``,
        ``fn``; all in percent.
    """
    confusion = np.asarray(confusion, np.float64)
    tp = np.diag(confusion)
    gt_count = confusion.sum(axis=1)
    pred_count = confusion.sum(axis=0)
    union = gt_count + pred_count - tp
    if average == 'nanmean':
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = tp / union
            fp = (pred_count - tp) / union
            fn = (gt_count - tp) / union
        reduce = np.nanmean
    elif average == 'mean':
        iou = tp / (union + 1e-10)
        fp = (pred_count - tp) / (union + 1e-10)
        fn = (gt_count - tp) / (union + 1e-10)
        reduce = np.mean
    else:
        raise ValueError(f"average must be 'nanmean' or 'mean', not "
                         f'{average!r}.')
    with warnings.catch_warnings():  # nanmean of all-NaN warns
        warnings.simplefilter('ignore', RuntimeWarning)
        miou, fg_miou = reduce(iou), reduce(iou[1:])
    return {
        'iou': iou * 100,
        'miou': float(miou * 100),
        'fg_miou': float(fg_miou * 100),
        'fp': fp * 100,
        'fn': fn * 100,
    }


def pseudo_label_miou(cams: Sequence,
                      labels: Sequence[Sequence[int]],
                      gt_masks: Sequence,
                      bg_thresholds: Sequence[float],
                      num_classes: int = 21,
                      ignore_index: int = IGNORE_INDEX,
                      average: str = 'nanmean') -> Dict[float, float]:
    """mIoU (percent) of CAM pseudo-labels for each background threshold.

    Pixel counts are summed over all images before the IoU (spec 6.2);
    background is class 0 and counts in the mean.

    Args:
        cams: per image, (K_i, H, W) maps of its K_i positive classes.
        labels: per image, the K_i foreground class indices (0-based).
        gt_masks: per image, (H, W) GT with 0 = background, c + 1 = class c,
            ``ignore_index`` = ignored.
        bg_thresholds: constant background scores to sweep (BAS:
            0.20-0.44, HFPL: 0.00-0.59, CCAM: 0.05-0.75 step 0.05).
        num_classes: classes including background (VOC 21, COCO 81).
        average: ``'nanmean'`` or ``'mean'`` (:func:`segmentation_iou`).

    Returns:
        dict: ``{threshold: mIoU}`` in the given threshold order.
    """
    if not len(cams) == len(labels) == len(gt_masks):
        raise ValueError(f'got {len(cams)} cams, {len(labels)} label sets '
                         f'and {len(gt_masks)} GT masks.')
    thresholds = [float(t) for t in np.asarray(bg_thresholds).reshape(-1)]
    total = np.zeros((num_classes, num_classes, len(thresholds) + 1),
                     np.int64)
    for i, (cam, label, gt) in enumerate(zip(cams, labels, gt_masks)):
        add_sweep_histogram(
            total, *sweep_histogram(cam, label, gt, thresholds, num_classes,
                                    ignore_index, f'image {i}'))
    confusions = sweep_confusions(total)
    order = np.argsort(np.asarray(thresholds), kind='stable')
    result = {}
    for j, i in enumerate(order):
        result[thresholds[i]] = segmentation_iou(confusions[j],
                                                 average)['miou']
    return {t: result[t] for t in thresholds}


def _boundary(mask: np.ndarray) -> np.ndarray:
    """DAVIS ``seg2bmap``: 1-pixel boundary of a binary mask."""
    east = np.zeros_like(mask)
    south = np.zeros_like(mask)
    south_east = np.zeros_like(mask)
    east[:, :-1] = mask[:, 1:]
    south[:-1, :] = mask[1:, :]
    south_east[:-1, :-1] = mask[1:, 1:]
    bmap = (mask ^ east) | (mask ^ south) | (mask ^ south_east)
    bmap[-1, :] = mask[-1, :] ^ east[-1, :]
    bmap[:, -1] = mask[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def _disk(radius: int) -> np.ndarray:
    """``skimage.morphology.disk``: ``x^2 + y^2 <= r^2`` on the grid."""
    grid = np.arange(-radius, radius + 1)
    return (grid[:, None]**2 + grid[None, :]**2 <= radius**2).astype(np.uint8)


def contour_counts(pred, gt, num_classes: int,
                   ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """One image's boundary-match counts per foreground class (spec 6.4).

    ``ignore_index`` in either map counts as background (HFPL does not
    ignore void pixels). The tolerance is ``ceil(0.008 * sqrt(H^2 + W^2))``.

    Returns:
        np.ndarray: (num_classes - 1, 4) int64: matched GT boundary pixels,
        matched predicted boundary pixels, GT boundary pixels, predicted
        boundary pixels.
    """
    pred = _to_numpy(pred).astype(np.int64)
    gt = _to_numpy(gt).astype(np.int64)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'prediction {tuple(pred.shape)} and GT '
                         f'{tuple(gt.shape)} must be (H, W) maps of one '
                         'shape.')
    pred[pred == ignore_index] = 0
    gt[gt == ignore_index] = 0
    radius = int(np.ceil(0.008 * np.linalg.norm(gt.shape)))
    kernel = _disk(radius)
    counts = np.zeros((num_classes - 1, 4), np.int64)
    present = np.union1d(np.unique(pred), np.unique(gt))
    for c in present[(present >= 1) & (present < num_classes)]:
        gt_b = _boundary(gt == c)
        pred_b = _boundary(pred == c)
        gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel).astype(bool)
        pred_dil = cv2.dilate(pred_b.astype(np.uint8), kernel).astype(bool)
        counts[c - 1] = ((gt_b & pred_dil).sum(), (pred_b & gt_dil).sum(),
                         gt_b.sum(), pred_b.sum())
    return counts


def fscore_from_counts(counts: np.ndarray) -> Dict:
    """Per-class and mean boundary F (percent) from summed
    :func:`contour_counts`."""
    matched_gt, matched_pred, num_gt, num_pred = np.asarray(counts).T
    fscore = np.zeros(len(counts))
    for c in range(len(counts)):
        if num_gt[c] == 0 and num_pred[c] == 0:
            fscore[c] = 1.
            continue
        if num_gt[c] == 0 or num_pred[c] == 0:
            continue
        precision = matched_pred[c] / num_pred[c]
        recall = matched_gt[c] / num_gt[c]
        if precision + recall > 0:
            fscore[c] = 2 * precision * recall / (precision + recall)
    return {'fscore': float(fscore.mean() * 100), 'per_class': fscore * 100}


def contour_fscore(preds: Sequence,
                   gts: Sequence,
                   num_classes: int = 21,
                   ignore_index: int = IGNORE_INDEX) -> Dict:
    """HFPL's contour F-score over a dataset (spec 6.4).

    Returns:
        dict: ``fscore`` (mean over the foreground classes, percent) and
        ``per_class`` (num_classes - 1 values, percent).
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} predictions but {len(gts)} GT maps.')
    counts = np.zeros((num_classes - 1, 4), np.int64)
    for pred, gt in zip(preds, gts):
        counts += contour_counts(pred, gt, num_classes, ignore_index)
    return fscore_from_counts(counts)
