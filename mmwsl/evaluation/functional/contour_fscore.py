# Copyright (c) mmwsl contributors. All rights reserved.
"""Boundary (contour) F-score of label maps, as HFPL reports it
(``specs/hfpl.md`` section 7.2, ``specs/metrics.md`` section 6.4).

Per image and foreground class, the 1-pixel boundaries of the GT and the
predicted class masks are matched within a tolerance disk of radius
``ceil(0.008 * sqrt(H^2 + W^2))``; matched and total boundary pixels are
summed over the dataset per class, and the F-scores are averaged over the
foreground classes. The ignore label counts as background (HFPL does not
ignore void pixels).
"""

from typing import Dict, Sequence

import cv2
import numpy as np

from .pseudo_label import IGNORE_INDEX, _numpy


def seg_boundary(mask: np.ndarray) -> np.ndarray:
    """1-pixel boundary of a binary ``(H, W)`` mask (DAVIS ``seg2bmap``).

    ``b = s xor E(s) | s xor S(s) | s xor SE(s)`` with the east, south and
    south-east neighbours; the last row uses the east term only, the last
    column the south term only, and the bottom-right pixel is 0. The
    boundary lies half a pixel towards the origin.
    """
    s = np.asarray(mask, bool)
    east = np.zeros_like(s)
    south = np.zeros_like(s)
    south_east = np.zeros_like(s)
    east[:, :-1] = s[:, 1:]
    south[:-1, :] = s[1:, :]
    south_east[:-1, :-1] = s[1:, 1:]
    b = (s ^ east) | (s ^ south) | (s ^ south_east)
    b[-1, :] = s[-1, :] ^ east[-1, :]
    b[:, -1] = s[:, -1] ^ south[:, -1]
    b[-1, -1] = False
    return b


def boundary_tolerance(height: int, width: int) -> int:
    """Match radius in pixels: ``ceil(0.008 * sqrt(H^2 + W^2))`` (5 for
    500 x 375, 3 for 224 x 224, 1 for 10 x 10)."""
    return int(np.ceil(0.008 * np.hypot(height, width)))


def disk(radius: int) -> np.ndarray:
    """``(2r + 1, 2r + 1)`` uint8 disk ``x^2 + y^2 <= r^2`` (skimage's)."""
    grid = np.arange(-radius, radius + 1)
    return (grid[:, None] ** 2 + grid[None] ** 2 <= radius**2).astype(np.uint8)


def contour_counts(
    pred,
    gt,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    name: str = 'image',
) -> np.ndarray:
    """One image's boundary-match counts per foreground class.

    Args:
        pred: ``(H, W)`` predicted label map (0 = background).
        gt: ``(H, W)`` GT label map of the same shape.
        num_classes: classes including background.
        ignore_index: label treated as background in both maps.
        name: image name for error messages.

    Returns:
        np.ndarray: ``(num_classes - 1, 4)`` int64 rows for classes
        ``1..num_classes - 1``: matched GT boundary pixels, matched
        predicted boundary pixels, GT boundary pixels, predicted boundary
        pixels.
    """
    pred = _numpy(pred).astype(np.int64)
    gt = _numpy(gt).astype(np.int64)
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(
            f'{name}: prediction {tuple(pred.shape)} and GT '
            f'{tuple(gt.shape)} must be (H, W) maps of one '
            f'shape.'
        )
    pred = np.where(pred == ignore_index, 0, pred)
    gt = np.where(gt == ignore_index, 0, gt)
    for what, arr in (('prediction', pred), ('GT', gt)):
        bad = (arr < 0) | (arr >= num_classes)
        if bad.any():
            raise ValueError(
                f'{name}: {what} labels must be in '
                f'[0, {num_classes - 1}] or {ignore_index}; '
                f'found {np.unique(arr[bad]).tolist()}.'
            )
    kernel = disk(boundary_tolerance(*gt.shape))
    counts = np.zeros((num_classes - 1, 4), np.int64)
    present = np.union1d(np.unique(pred), np.unique(gt))
    for c in present[present >= 1]:
        gt_b = seg_boundary(gt == c)
        pred_b = seg_boundary(pred == c)
        gt_dil = cv2.dilate(gt_b.view(np.uint8), kernel).view(bool)
        pred_dil = cv2.dilate(pred_b.view(np.uint8), kernel).view(bool)
        counts[c - 1] = (
            np.count_nonzero(gt_b & pred_dil),
            np.count_nonzero(pred_b & gt_dil),
            np.count_nonzero(gt_b),
            np.count_nonzero(pred_b),
        )
    return counts


def fscore_from_counts(counts: np.ndarray) -> Dict:
    """Per-class boundary F and its mean from summed
    :func:`contour_counts` (``(num_classes - 1, 4)``).

    Both boundary sets empty gives F = 1, exactly one empty gives 0, and
    ``P + R = 0`` gives 0.

    Returns:
        dict: ``fscore`` (mean over foreground classes, percent),
        ``per_class``, ``precision``, ``recall`` (``(num_classes - 1,)``
        arrays, percent).
    """
    matched_gt, matched_pred, num_gt, num_pred = np.asarray(
        counts, np.float64
    ).T
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = np.where(num_pred > 0, matched_pred / num_pred, 0.0)
        recall = np.where(num_gt > 0, matched_gt / num_gt, 0.0)
        f = np.where(
            precision + recall > 0,
            2 * precision * recall / (precision + recall),
            0.0,
        )
    f = np.where((num_gt == 0) & (num_pred == 0), 1.0, f)
    return dict(
        fscore=float(f.mean() * 100),
        per_class=f * 100,
        precision=precision * 100,
        recall=recall * 100,
    )


def contour_fscore(
    preds: Sequence,
    gts: Sequence,
    num_classes: int = 21,
    ignore_index: int = IGNORE_INDEX,
) -> Dict:
    """Dataset-level contour F-score of label maps (HFPL).

    Args:
        preds: ``(H_i, W_i)`` predicted label maps (0 = background).
        gts: the GT maps, one per prediction, same shapes.
        num_classes: classes including background (VOC 21, COCO 81).
        ignore_index: label treated as background.

    Returns:
        dict: see :func:`fscore_from_counts`.
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} predictions but {len(gts)} GT maps.')
    counts = np.zeros((num_classes - 1, 4), np.int64)
    for i, (pred, gt) in enumerate(zip(preds, gts)):
        counts += contour_counts(
            pred, gt, num_classes, ignore_index, name=f'image {i}'
        )
    return fscore_from_counts(counts)
