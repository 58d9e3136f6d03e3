# Copyright (c) mmwsl contributors. All rights reserved.
"""Quality of CAM pseudo-labels for WSSS (``specs/metrics.md`` section 6).

An image with positive classes ``c_1..c_m`` and normalised maps
``A_1..A_m`` is labelled ``keys[argmax([beta, A_1, ..., A_m])]`` with
``keys = [0, c_1 + 1, ..., c_m + 1]``: background is channel 0 and wins ties
(:func:`cams_to_label_map`). Scores are compared in float64, so a pixel is
foreground at threshold ``t`` iff its best map value is ``> t`` exactly.

The mIoU is computed from one confusion matrix per background threshold,
with pixel counts summed over the whole dataset and ``gt == ignore_index``
pixels left out (section 6.2). :class:`ThresholdSweep` gets every threshold's
matrix from a single pass over the images: only a pixel's best foreground
class and score matter, so one ``bincount`` per image over (GT class,
best class, number of thresholds below the score) holds all of them.
"""

import warnings
from typing import Dict, Optional, Sequence, Union

import numpy as np

IGNORE_INDEX = 255


def _numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def check_cams(
    cams, keys, num_classes: Optional[int] = None, name: str = 'image'
) -> tuple:
    """Validate one image's maps and class keys.

    Args:
        cams: ``(K, H, W)`` (or ``(H, W)`` for K = 1) floating maps.
        keys: the K foreground class indices (0-based, background
            excluded): map k is class ``keys[k] + 1`` of the label map.
        num_classes: classes including background; keys must be below
            ``num_classes - 1`` when given.
        name: what to call the image in error messages (e.g. its file).

    Returns:
        tuple: ``cams`` as a ``(K, H, W)`` float array and ``keys`` as an
        int64 ``(K,)`` array.
    """
    cams = _numpy(cams)
    keys = _numpy(keys).astype(np.int64).reshape(-1)
    if cams.ndim == 2:
        cams = cams[None]
    if cams.ndim != 3 or len(cams) != len(keys):
        raise ValueError(
            f'{name}: expected a (K, H, W) array with one map '
            f'per class key ({len(keys)} keys), got shape '
            f'{tuple(cams.shape)}.'
        )
    if not np.issubdtype(cams.dtype, np.floating):
        raise TypeError(
            f'{name}: CAMs must be floating point, not {cams.dtype}.'
        )
    if cams.size and not np.isfinite(cams).all():
        raise ValueError(f'{name}: CAMs hold NaN or Inf values.')
    if (keys < 0).any() or (
        num_classes is not None and (keys >= num_classes - 1).any()
    ):
        bound = (
            'non-negative'
            if num_classes is None
            else f'in [0, {num_classes - 2}]'
        )
        raise ValueError(
            f'{name}: class keys must be {bound} (foreground '
            f'classes, 0-based), got {keys.tolist()}.'
        )
    if len(np.unique(keys)) != len(keys):
        raise ValueError(f'{name}: repeated class keys {keys.tolist()}.')
    return cams, keys


def check_gt(
    gt,
    shape,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    name: str = 'image',
) -> np.ndarray:
    """Validate an ``(H, W)`` GT label map against the maps' shape."""
    gt = _numpy(gt)
    if gt.ndim == 3 and gt.shape[0] == 1:
        gt = gt[0]
    if gt.shape != tuple(shape):
        raise ValueError(
            f'{name}: the GT mask has shape {tuple(gt.shape)} '
            f'but the prediction has shape {tuple(shape)}.'
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


def cams_to_label_map(
    cams, keys: Sequence[int], bg_score: Union[float, np.ndarray] = 0.25
) -> np.ndarray:
    """Label map from an image's class maps and a background score.

    Args:
        cams: ``(K, H, W)`` normalised maps of the image's K classes.
        keys: their K foreground class indices (0-based).
        bg_score: the background score: a constant threshold ``t``, or an
            ``(H, W)`` map (e.g. ``(1 - max_k A_k) ** alpha`` or a
            background cue). Background wins ties.

    Returns:
        np.ndarray: ``(H, W)`` int64 map, 0 = background, ``k + 1`` =
        class k.
    """
    cams, keys = check_cams(cams, keys)
    shape = cams.shape[1:]
    # A constant threshold is compared in the maps' dtype, as BAS pads its
    # float32 CAMs with it (float32(0.3) ties with a map value of 0.3).
    dtype = cams.dtype if np.ndim(bg_score) == 0 else np.float64
    bg = np.broadcast_to(np.asarray(bg_score, dtype), shape)
    if len(keys) == 0:
        return np.zeros(shape, np.int64)
    best = cams.argmax(axis=0)
    score = np.take_along_axis(cams, best[None], axis=0)[0]
    return np.where(score.astype(dtype) > bg, keys[best] + 1, 0)


def confusion_matrix(
    pred,
    gt,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    name: str = 'image',
) -> np.ndarray:
    """``(C, C)`` int64 confusion matrix (rows GT, columns prediction) of
    one label map, over the pixels with ``gt != ignore_index``.

    Predicted ``ignore_index`` pixels count as background (chainercv maps a
    predicted 255 to 0).
    """
    pred = _numpy(pred).astype(np.int64)
    gt = check_gt(gt, pred.shape, num_classes, ignore_index, name)
    pred = np.where(pred == ignore_index, 0, pred)
    bad = (pred < 0) | (pred >= num_classes)
    if bad.any():
        raise ValueError(
            f'{name}: predicted labels must be in '
            f'[0, {num_classes - 1}] or {ignore_index}; found '
            f'{np.unique(pred[bad]).tolist()}.'
        )
    valid = gt != ignore_index
    code = gt[valid] * num_classes + pred[valid]
    return np.bincount(code, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def iou_from_confusion(
    confusion: np.ndarray, average: str = 'nanmean'
) -> Dict:
    """Per-class IoU and its mean from a ``(C, C)`` confusion matrix.

    Args:
        confusion: rows GT, columns prediction; class 0 is background.
        average: ``'nanmean'`` (chainercv, as IRN and BAS report it):
            ``TP / union`` and classes with an empty union are skipped;
            ``'mean'`` (CCAM, HFPL, PuzzleCAM): ``TP / (union + 1e-10)``
            averaged over all C classes, so an absent class counts 0.

    Returns:
        dict: ``iou``, ``fp``, ``fn`` (``(C,)`` arrays, percent;
        ``fp = (P - TP) / union``, ``fn = (T - TP) / union``), ``miou``
        (background included), ``fg_miou`` (classes >= 1) and ``fg_fp``
        (mean foreground ``fp``), all percent.
    """
    confusion = np.asarray(confusion, np.float64)
    tp = np.diag(confusion)
    gt_count = confusion.sum(axis=1)
    pred_count = confusion.sum(axis=0)
    union = gt_count + pred_count - tp
    if average == 'nanmean':
        with np.errstate(divide='ignore', invalid='ignore'):
            iou, fp, fn = (
                tp / union,
                (pred_count - tp) / union,
                (gt_count - tp) / union,
            )
        reduce = np.nanmean
    elif average == 'mean':
        iou, fp, fn = (
            tp / (union + 1e-10),
            (pred_count - tp) / (union + 1e-10),
            (gt_count - tp) / (union + 1e-10),
        )
        reduce = np.mean
    else:
        raise ValueError(
            f"average must be 'nanmean' or 'mean', not {average!r}."
        )
    with warnings.catch_warnings():  # the nanmean of all-NaN warns
        warnings.simplefilter('ignore', RuntimeWarning)
        miou, fg_miou, fg_fp = reduce(iou), reduce(iou[1:]), reduce(fp[1:])
    return dict(
        iou=iou * 100,
        fp=fp * 100,
        fn=fn * 100,
        miou=float(miou * 100),
        fg_miou=float(fg_miou * 100),
        fg_fp=float(fg_fp * 100),
    )


class ThresholdSweep:
    """Dataset-level confusion matrices for many background thresholds.

    Call :meth:`add_cams` once per image (or :meth:`add_label_map` for a
    fixed label map, e.g. a PNG pseudo-label, which counts the same at every
    threshold); :meth:`confusions` then gives one matrix per threshold and
    :meth:`results` the IoUs.

    Args:
        num_classes: classes including background (VOC 21, COCO 81).
        bg_thresholds: the constant background scores to sweep.
        ignore_index: GT value left out of the counts.
    """

    def __init__(
        self,
        num_classes: int,
        bg_thresholds: Sequence[float],
        ignore_index: int = IGNORE_INDEX,
    ):
        thresholds = np.asarray(bg_thresholds, np.float64).reshape(-1)
        if len(thresholds) == 0:
            raise ValueError('bg_thresholds is empty.')
        if not np.isfinite(thresholds).all():
            raise ValueError(
                f'bg_thresholds must be finite, got {thresholds.tolist()}.'
            )
        if num_classes < 2:
            raise ValueError(
                f'num_classes counts background and must be '
                f'>= 2, got {num_classes}.'
            )
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.thresholds = thresholds
        self._order = np.argsort(thresholds, kind='stable')
        self._sorted = thresholds[self._order]
        nb = len(thresholds) + 1
        # counts[g, p, b]: GT g, best class p, score above exactly b of the
        # sorted thresholds.
        self.counts = np.zeros((num_classes, num_classes, nb), np.int64)
        self.num_images = 0

    def add_cams(
        self, cams, keys: Sequence[int], gt, name: str = 'image'
    ) -> None:
        """Add one image: its ``(K, H, W)`` maps, class keys and GT."""
        c = self.num_classes
        cams, keys = check_cams(cams, keys, c, name)
        gt = check_gt(gt, cams.shape[1:], c, self.ignore_index, name)
        valid = gt != self.ignore_index
        gt = gt[valid]
        nb = len(self._sorted) + 1
        if len(keys) == 0:
            code = gt * (c * nb)  # best class 0, below every threshold
        else:
            flat = cams[:, valid]
            best = flat.argmax(axis=0)
            score = np.take_along_axis(flat, best[None], axis=0)[0]
            # Foreground at t_j iff score > t_j iff j < #(t < score),
            # compared in the maps' dtype (see cams_to_label_map).
            above = np.searchsorted(
                self._sorted.astype(score.dtype), score, side='left'
            )
            code = (gt * c + keys[best] + 1) * nb + above
        self.counts += np.bincount(code, minlength=c * c * nb).reshape(
            c, c, nb
        )
        self.num_images += 1

    def add_label_map(self, pred, gt, name: str = 'image') -> None:
        """Add one image's fixed ``(H, W)`` label map (0 = background)."""
        confusion = confusion_matrix(
            pred, gt, self.num_classes, self.ignore_index, name
        )
        # Above every threshold: counted as predicted at each of them.
        self.counts[:, :, -1] += confusion
        self.num_images += 1

    def confusions(self) -> np.ndarray:
        """``(T, C, C)`` int64 confusion matrices, in the order of
        ``bg_thresholds``."""
        cum = np.cumsum(self.counts, axis=2)
        total = cum[:, :, -1]
        below = np.moveaxis(cum[:, :, :-1], 2, 0)  # (T, C, C): score <= t_j
        sorted_conf = total[None] - below
        sorted_conf[:, :, 0] += below.sum(axis=2)
        out = np.empty_like(sorted_conf)
        out[self._order] = sorted_conf
        return out

    def results(self, average: str = 'nanmean') -> list:
        """One :func:`iou_from_confusion` dict per threshold (with its
        ``threshold``), in the order of ``bg_thresholds``."""
        return [
            dict(threshold=float(t), **iou_from_confusion(conf, average))
            for t, conf in zip(self.thresholds, self.confusions())
        ]


def pseudo_label_miou(
    cams: Sequence,
    labels: Sequence[Sequence[int]],
    gt_masks: Sequence,
    bg_thresholds: Sequence[float],
    num_classes: int = 21,
    ignore_index: int = IGNORE_INDEX,
    average: str = 'nanmean',
) -> Dict[float, float]:
    """mIoU (percent) of CAM pseudo-labels for each background threshold.

    Args:
        cams: per image, the ``(K_i, H, W)`` normalised maps of its K_i
            positive classes.
        labels: per image, those K_i foreground class indices (0-based).
        gt_masks: per image, the ``(H, W)`` GT: 0 = background, ``c + 1`` =
            class c, ``ignore_index`` = not counted.
        bg_thresholds: constant background scores t (BAS sweeps 0.20-0.44,
            HFPL 0.00-0.59, CCAM 0.05-0.75 in steps of 0.05).
        num_classes: classes including background (VOC 21, COCO 81).
        ignore_index: GT value left out of the counts.
        average: ``'nanmean'`` or ``'mean'`` (:func:`iou_from_confusion`).

    Returns:
        dict: ``{t: mIoU}`` over all ``num_classes`` classes (background
        included), in the order of ``bg_thresholds``.
    """
    if not len(cams) == len(labels) == len(gt_masks):
        raise ValueError(
            f'got {len(cams)} CAM arrays, {len(labels)} label '
            f'lists and {len(gt_masks)} GT masks.'
        )
    sweep = ThresholdSweep(num_classes, bg_thresholds, ignore_index)
    for i, (cam, keys, gt) in enumerate(zip(cams, labels, gt_masks)):
        sweep.add_cams(cam, keys, gt, name=f'image {i}')
    return {r['threshold']: r['miou'] for r in sweep.results(average)}


def activation_thresholds(
    results: Sequence[dict], over: float = 1.6, under: float = 0.6
) -> Dict[str, float]:
    """CCAM's over/under-activation thresholds from a sweep.

    Given :meth:`ThresholdSweep.results`, returns the ``best`` threshold
    (highest mIoU, first on ties), and the thresholds whose mean foreground
    FP is closest to ``over * FP_best`` (``over``) and to ``under * FP_best``
    (``under``).
    """
    miou = np.array([r['miou'] for r in results])
    fg_fp = np.array([r['fg_fp'] for r in results])
    best = int(np.nanargmax(miou))
    pick = {'best': best}
    for key, factor in (('over', over), ('under', under)):
        pick[key] = int(np.nanargmin(np.abs(fg_fp - factor * fg_fp[best])))
    return {k: float(results[i]['threshold']) for k, i in pick.items()}
