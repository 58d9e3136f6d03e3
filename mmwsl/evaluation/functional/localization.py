# Copyright (c) mmwsl contributors. All rights reserved.
"""Box localization accuracies (``specs/metrics.md`` section 3).

* :func:`max_box_acc`: MaxBoxAcc / MaxBoxAccV2 of wsolevaluation (3.2): box
  accuracy at every CAM threshold, maximised separately per IoU level.
* :func:`loc_accuracy`: Top-1 / Top-5 / GT-known Loc of BAS (3.3) at a fixed
  threshold list, with the protocol differences of section 9.1 as options.
* :func:`topk_correct`: classification top-k hits (3.4).

All accuracies are percentages.
"""

from typing import Dict, Optional, Sequence

import numpy as np

from .box_extraction import _as_thresholds, _level_boxes, cam_to_box_bas
from .boxes import _pairwise_iou, check_box_convention
from .scoremap import _to_numpy, check_scoremap


def threshold_grid(interval: float = 0.001) -> np.ndarray:
    """wsolevaluation's CAM threshold list ``np.arange(0, 1, interval)``.

    ``0.001`` (the default of wsolevaluation's training runs) gives 1000
    thresholds, ``0.01`` (its command-line default) 100.
    """
    return np.arange(0, 1, interval)


def _check_gt_boxes(gt_boxes, name: str) -> np.ndarray:
    gt_boxes = check_box_convention(_to_numpy(gt_boxes), name)
    if len(gt_boxes) == 0:
        raise ValueError(
            f'{name}: an image needs at least one ground-truth box.'
        )
    return gt_boxes


def _level_best_iou(
    cam: np.ndarray,
    gt_boxes: np.ndarray,
    thresholds: Sequence[float],
    multi_contour: bool,
    pixel_offset: int = 1,
    iou_levels: Optional[Sequence[float]] = None,
) -> np.ndarray:
    """Best IoU at each threshold of a validated CAM.

    With ``iou_levels`` (fractions) only the comparisons with those levels
    are kept exact: thresholds whose boxes provably stay below the lowest
    level get -1, and others decided without tracing get an IoU on the same
    side of every level (the bounds assume the +1 pixel IoU).
    """
    if iou_levels is not None and pixel_offset != 1:
        raise ValueError('level skipping needs pixel_offset=1.')
    level = _level_boxes(cam, thresholds, multi_contour, gt_boxes, iou_levels)
    ious = _pairwise_iou(level.boxes, gt_boxes, pixel_offset).max(axis=1)
    best = np.maximum.reduceat(ious, level.starts)
    settled = ~np.isnan(level.settled)
    best[settled] = level.settled[settled]
    return best[level.level_of_threshold]


def best_iou_per_threshold(
    cam,
    gt_boxes,
    thresholds: Sequence[float],
    multi_contour: bool = True,
    name: str = 'cam',
) -> np.ndarray:
    """wsolevaluation's per-image IoU at every CAM threshold.

    ``IoU(tau) = max over predicted boxes at tau and GT boxes`` of the +1
    pixel IoU (spec 3.1), with the boxes of :func:`cam_to_boxes`.

    Returns:
        np.ndarray: float64 array of shape (T,).
    """
    cam = check_scoremap(cam, name)
    gt_boxes = _check_gt_boxes(gt_boxes, f'{name}: gt_boxes')
    return _level_best_iou(cam, gt_boxes, thresholds, multi_contour)


def correct_per_threshold(
    cam,
    gt_boxes,
    thresholds: Sequence[float],
    iou_thresholds: Sequence[float] = (30, 50, 70),
    multi_contour: bool = True,
    name: str = 'cam',
) -> np.ndarray:
    """Whether one image is localised at each CAM threshold and IoU level.

    Same result as ``count_correct(best_iou_per_threshold(...))``, but a
    threshold is not traced at all when bounds on its best IoU already
    settle every IoU level (``_level_boxes`` in ``box_extraction``): the
    foreground's bounding box caps it, and with ``multi_contour`` the
    components of the thresholds traced above it give lower bounds.

    Returns:
        np.ndarray: bool array of shape (len(iou_thresholds), T).
    """
    cam = check_scoremap(cam, name)
    gt_boxes = _check_gt_boxes(gt_boxes, f'{name}: gt_boxes')
    ious = _level_best_iou(
        cam,
        gt_boxes,
        thresholds,
        multi_contour,
        iou_levels=[d / 100 for d in iou_thresholds],
    )
    return count_correct(ious, iou_thresholds)


def _check_lengths(**sequences) -> int:
    lengths = {k: len(v) for k, v in sequences.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            'inputs must have one entry per image; got lengths '
            + ', '.join(f'{k}={n}' for k, n in lengths.items())
        )
    return next(iter(lengths.values()))


def box_acc_curve(
    cams: Sequence,
    gt_boxes: Sequence,
    thresholds: Sequence[float],
    iou_thresholds: Sequence[float] = (30, 50, 70),
    multi_contour: bool = True,
) -> np.ndarray:
    """Box accuracy (percent) at every CAM threshold and IoU level.

    Returns:
        np.ndarray: (len(iou_thresholds), len(thresholds)) float64 array;
        entry ``[d, k]`` is ``100 * #{images with IoU(tau_k) >= delta_d/100}
        / N``.
    """
    num = _check_lengths(cams=cams, gt_boxes=gt_boxes)
    if num == 0:
        raise ValueError('box accuracy needs at least one image.')
    thresholds = _as_thresholds(thresholds)
    correct = np.zeros((len(iou_thresholds), len(thresholds)), np.int64)
    for i, (cam, boxes) in enumerate(zip(cams, gt_boxes)):
        correct += correct_per_threshold(
            cam, boxes, thresholds, iou_thresholds, multi_contour, f'cams[{i}]'
        )
    return correct * 100.0 / num


def count_correct(
    ious: np.ndarray, iou_thresholds: Sequence[float], strict: bool = False
) -> np.ndarray:
    """``ious >= delta / 100`` (or ``>`` with ``strict``) for every IoU
    level ``delta`` (percent); returns a (D, ...) bool array."""
    levels = np.asarray([d / 100 for d in iou_thresholds], np.float64)
    levels = levels.reshape((-1,) + (1,) * np.ndim(ious))
    return ious > levels if strict else ious >= levels


def summarize_box_acc(
    curve: np.ndarray,
    thresholds: Sequence[float],
    iou_thresholds: Sequence[float],
) -> Dict:
    """Reduce a :func:`box_acc_curve` to the :func:`max_box_acc` result."""
    thresholds = _as_thresholds(thresholds)
    best = curve.argmax(axis=1)
    acc = {d: float(curve[i, best[i]]) for i, d in enumerate(iou_thresholds)}
    return {
        'acc': acc,
        'best_threshold': {
            d: float(thresholds[best[i]]) for i, d in enumerate(iou_thresholds)
        },
        'mean': float(np.average(list(acc.values()))),
    }


def max_box_acc(
    cams: Sequence,
    gt_boxes: Sequence,
    thresholds: Sequence[float],
    iou_thresholds: Sequence[float] = (30, 50, 70),
    multi_contour: bool = True,
) -> Dict:
    """MaxBoxAcc / MaxBoxAccV2 (wsolevaluation ``BoxEvaluator``, spec 3.2).

    For each IoU level the best CAM threshold is chosen separately (first
    maximum on ties), on the evaluated images themselves.

    Args:
        cams: (H, W) maps in [0, 1], one per image.
        gt_boxes: (N_i, 4) x0y0x1y1 boxes per image, in map pixels
            (inclusive corners).
        thresholds: CAM thresholds, e.g. ``threshold_grid(0.001)``.
        iou_thresholds: IoU levels in percent.
        multi_contour (bool): boxes of all contours (V2) or of the largest.

    Returns:
        dict: ``{'acc': {delta: float}, 'best_threshold': {delta: float},
        'mean': float}``. With the defaults ``mean`` is MaxBoxAccV2; with
        ``multi_contour=False``, ``acc[50]`` is the original MaxBoxAcc.
    """
    curve = box_acc_curve(
        cams, gt_boxes, thresholds, iou_thresholds, multi_contour
    )
    return summarize_box_acc(curve, thresholds, iou_thresholds)


def topk_correct(scores, label: int, topk: Sequence[int] = (1, 5)) -> Dict:
    """Whether ``label`` is among the ``k`` highest ``scores``, per k.

    Ties rank the lower class index first (a stable descending sort).
    """
    scores = _to_numpy(scores).reshape(-1)
    if not 0 <= label < len(scores):
        raise ValueError(
            f'label {label} is out of range for {len(scores)} class scores.'
        )
    ref = scores[label]
    rank = int((scores > ref).sum() + (scores[:label] == ref).sum())
    return {k: rank < k for k in topk}


def _best_iou_bas(
    cam, gt_boxes, thresholds, box_rule, multi_contour, pixel_offset, name
):
    gt_boxes = _check_gt_boxes(gt_boxes, f'{name}: gt_boxes')
    if box_rule == 'bas':
        boxes = cam_to_box_bas(cam, thresholds)
        return _pairwise_iou(boxes, gt_boxes, pixel_offset).max(axis=1)
    if box_rule == 'wsolevaluation':
        return _level_best_iou(
            check_scoremap(cam, name),
            gt_boxes,
            thresholds,
            multi_contour,
            pixel_offset,
        )
    raise ValueError(
        f"box_rule must be 'bas' or 'wsolevaluation', not {box_rule!r}."
    )


def loc_accuracy(
    cams: Sequence,
    gt_boxes: Sequence,
    gt_labels: Optional[Sequence[int]] = None,
    cls_scores: Optional[Sequence] = None,
    thresholds: Sequence[float] = (0.1,),
    topk: Sequence[int] = (1, 5),
    iou_thresholds: Sequence[float] = (30, 50, 70),
    box_rule: str = 'bas',
    multi_contour: bool = False,
    pixel_offset: int = 1,
    strict: bool = False,
    class_balanced: bool = False,
) -> Dict:
    """Top-k Loc and GT-known Loc with the BAS protocol (spec 3.3).

    For each image and threshold, ``IoU`` is the best IoU of the predicted
    box(es) with any GT box. An image is *localised* when ``IoU >= 0.5``;
    ``top{k}_loc`` also needs the GT class among the k best scores. The
    reported threshold ``j*`` maximises ``top1_loc + gt_known`` (first
    maximum; ``gt_known`` alone without scores) and every number is taken
    at ``j*``, as BAS does.

    Args:
        cams: (H, W) maps, one per image (already the method's map: GT
            class, or top-k mean).
        gt_boxes: (N_i, 4) GT boxes per image.
        gt_labels: GT class per image (needed with ``cls_scores`` or
            ``class_balanced``).
        cls_scores: (C,) class scores per image, or None to skip the
            classification-dependent numbers.
        thresholds: CAM thresholds (BAS: CUB ``[0.1]``; ILSVRC vgg 0.45,
            resnet 0.25, inception 0.25, mobilenet 0.5).
        topk: the k of ``top{k}_loc`` and ``top{k}_cls``.
        iou_thresholds: IoU levels (percent) of the ``iou{delta}`` entries.
        box_rule (str): ``'bas'`` (largest 8-connected component of
            ``cam > tau``, whole image when empty) or ``'wsolevaluation'``
            (:func:`cam_to_boxes`).
        multi_contour (bool): with ``box_rule='wsolevaluation'``, use every
            contour's box.
        pixel_offset (int): 1 for the +1 pixel IoU (BAS, wsolevaluation),
            0 for continuous IoU (CCAM, PSOL).
        strict (bool): count ``IoU > delta`` instead of ``>=`` (CCAM, PSOL).
        class_balanced (bool): average per class, then over classes (CCAM's
            PSOL evaluation) instead of over images.

    Returns:
        dict: ``top{k}_loc`` and ``top{k}_cls`` (with scores),
        ``gt_known``, ``iou{delta}`` per IoU level, ``mean_iou_acc`` (their
        mean; BAS labels it MaxBoxAccV2), ``best_threshold``, and
        ``curves``: every entry's value at each threshold.
    """
    num = _check_lengths(
        cams=cams,
        gt_boxes=gt_boxes,
        gt_labels=gt_labels,
        cls_scores=cls_scores,
    )
    if num == 0:
        raise ValueError('localization accuracy needs at least one image.')
    if (cls_scores is not None or class_balanced) and gt_labels is None:
        raise ValueError(
            'gt_labels are needed with cls_scores or class_balanced.'
        )
    thresholds = _as_thresholds(thresholds)
    ious = np.stack(
        [
            _best_iou_bas(
                cam,
                boxes,
                thresholds,
                box_rule,
                multi_contour,
                pixel_offset,
                f'cams[{i}]',
            )
            for i, (cam, boxes) in enumerate(zip(cams, gt_boxes))
        ]
    )
    cls_correct = None
    if cls_scores is not None:
        cls_correct = {k: np.empty(num, bool) for k in topk}
        for i, (scores, label) in enumerate(zip(cls_scores, gt_labels)):
            for k, hit in topk_correct(scores, int(label), topk).items():
                cls_correct[k][i] = hit
    return summarize_loc_accuracy(
        ious,
        thresholds,
        cls_correct,
        gt_labels,
        iou_thresholds,
        strict,
        class_balanced,
    )


def summarize_loc_accuracy(
    ious: np.ndarray,
    thresholds: Sequence[float],
    cls_correct: Optional[Dict[int, np.ndarray]],
    gt_labels: Optional[Sequence[int]],
    iou_thresholds: Sequence[float] = (30, 50, 70),
    strict: bool = False,
    class_balanced: bool = False,
) -> Dict:
    """Reduce per-image IoUs (N, T) and top-k hits to
    :func:`loc_accuracy`'s result."""
    thresholds = _as_thresholds(thresholds)
    if class_balanced:
        labels = np.asarray(gt_labels, np.int64)
        classes, inverse = np.unique(labels, return_inverse=True)
        weights = 1.0 / (len(classes) * np.bincount(inverse))[inverse]
    else:
        weights = np.full(len(ious), 1.0 / len(ious))

    def mean(hits):  # hits: (N, T) or (N, ) bool -> percent per threshold
        hits = hits if hits.ndim == 2 else hits[:, None]
        return 100.0 * (weights[:, None] * hits).sum(axis=0)

    localised = count_correct(ious, (50,), strict)[0]
    curves = {'gt_known': mean(localised)}
    for delta, hits in zip(
        iou_thresholds, count_correct(ious, iou_thresholds, strict)
    ):
        curves[f'iou{delta:g}'] = mean(hits)
    curves['mean_iou_acc'] = np.mean(
        [curves[f'iou{d:g}'] for d in iou_thresholds], axis=0
    )
    if cls_correct is not None:
        for k, hits in cls_correct.items():
            curves[f'top{k}_loc'] = mean(localised & hits[:, None])
            curves[f'top{k}_cls'] = np.broadcast_to(
                mean(hits), (len(thresholds),)
            ).copy()
    score = curves['gt_known'] + curves.get('top1_loc', 0)
    best = int(np.argmax(score))
    result = {k: float(v[best]) for k, v in curves.items()}
    result['best_threshold'] = float(thresholds[best])
    result['curves'] = curves
    return result
