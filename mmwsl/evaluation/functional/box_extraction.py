# Copyright (c) mmwsl contributors. All rights reserved.
"""Boxes from thresholded CAMs (``specs/metrics.md`` section 2).

:func:`cam_to_boxes` gives exactly wsolevaluation's
``compute_bboxes_from_scoremaps`` (section 2.1) but does the work once per
*distinct binary map* instead of once per threshold:

* the map is quantised to ``S8 = uint8(255 * cam)`` and threshold ``tau``
  becomes ``t = int(tau * max(S8))``, foreground ``S8 > t``;
* ``S8 > t`` only changes when ``t`` passes a value present in ``S8``, so the
  1000 thresholds of ``cam_curve_interval=0.001`` collapse to at most 255
  binary maps (thresholds at or above the peak give the empty map);
* each binary map is traced on the bounding box of its foreground only
  (``findContours`` with an offset gives the same contours, in the same
  order, as on the full image: everything outside is background), with
  ``RETR_LIST`` when every contour is kept (the same contours as
  ``RETR_TREE``; the order only matters for the largest-contour tie-break);
* bounding rectangles and contour areas are computed for all contours at
  once in numpy (``cv2.boundingRect`` and ``cv2.contourArea`` on integer
  points are exactly the min/max and the shoelace formula);
* for accuracy counting (:func:`correct_per_threshold`), binary maps whose
  foreground bounding box covers less than the lowest IoU level of every
  GT box are not traced at all: no box inside it can reach that IoU.

The tests compare all of this with the per-threshold loop of
``tools/analysis_tools/benchmark_metrics.py`` (a transcription of
wsolevaluation) on random maps, boxes and accuracies alike.

:func:`cam_to_box_bas` is BAS's rule (section 2.2): strict ``>`` on the float
map, the largest 8-connected component by pixel count, an exclusive unclipped
box, and the whole image when nothing is above the threshold.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from scipy import ndimage

from .scoremap import _to_numpy, check_scoremap

_CONTOUR_INDEX = 1 if cv2.__version__.split('.')[0] == '3' else 0
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


class _LevelBoxes(NamedTuple):
    """Boxes of the distinct binary maps of one CAM.

    Attributes:
        boxes: (M, 4) int64 boxes of all levels, level after level; an empty
            level contributes the single box [0, 0, 0, 0].
        starts: (L,) index of each level's first box in ``boxes``.
        level_of_threshold: (T,) level index of each threshold.
        skipped: (L,) levels left out because no box of theirs can reach
            ``min_iou`` with a GT box (they hold the box [0, 0, 0, 0]).
    """
    boxes: np.ndarray
    starts: np.ndarray
    level_of_threshold: np.ndarray
    skipped: np.ndarray


def _as_thresholds(thresholds) -> np.ndarray:
    thresholds = np.asarray(thresholds)
    if thresholds.ndim != 1:
        thresholds = thresholds.reshape(-1)
    if not np.issubdtype(thresholds.dtype, np.floating):
        thresholds = thresholds.astype(np.float64)
    return thresholds


def _first_last(mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """First and last True index along axis 1 of a 2-D bool array."""
    return mask.argmax(axis=1), mask.shape[1] - 1 - mask[:, ::-1].argmax(
        axis=1)


def _iou_upper_bound(regions: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """``max_g |R ∩ g| / |g|`` (+1 pixel areas) for each region R.

    Every box inside R has ``IoU(b, g) = |b∩g| / (|b| + |g| - |b∩g|) <=
    |R∩g| / |g|``; the float division rounds monotonically, so a bound below
    the float IoU level proves the computed IoU is below it too.
    """
    r = regions[:, None, :]
    g = gt_boxes[None, :, :]
    inter = (np.maximum(
        0,
        np.minimum(r[..., 2], g[..., 2]) - np.maximum(r[..., 0], g[..., 0]) +
        1) * np.maximum(
            0,
            np.minimum(r[..., 3], g[..., 3]) -
            np.maximum(r[..., 1], g[..., 1]) + 1))
    area = (g[..., 2] - g[..., 0] + 1) * (g[..., 3] - g[..., 1] + 1)
    return (inter / np.maximum(area, 1)).max(axis=1)


def _level_boxes(cam: np.ndarray,
                 thresholds: Sequence[float],
                 multi_contour: bool,
                 gt_boxes: Optional[np.ndarray] = None,
                 min_iou: Optional[float] = None) -> _LevelBoxes:
    """Boxes at every distinct binary map of a validated float64 CAM.

    With ``gt_boxes`` and ``min_iou``, levels whose boxes provably all have
    IoU < ``min_iou`` with every GT box are not traced (``skipped``).
    """
    height, width = cam.shape
    scoremap = (cam * 255).astype(np.uint8)
    thresholds = _as_thresholds(thresholds)
    # wsolevaluation: int(threshold * np.max(scoremap_image)); the product
    # keeps the dtype of the threshold (float64 for Python floats).
    int_thresholds = (thresholds * scoremap.max()).astype(np.int64)

    present = np.flatnonzero(np.bincount(scoremap.ravel(), minlength=256))
    # S8 > t  <=>  S8 >= present[pos] with pos the first value above t.
    pos = np.searchsorted(present, int_thresholds, side='right')
    levels, level_of_threshold = np.unique(pos, return_inverse=True)
    empty = levels >= len(present)
    values = present[levels[~empty]]

    # Bounding box of each level's foreground: the region traced.
    y0, y1 = _first_last(scoremap.max(axis=1)[None, :] >= values[:, None])
    x0, x1 = _first_last(scoremap.max(axis=0)[None, :] >= values[:, None])
    skipped = np.zeros(len(levels), dtype=bool)
    if gt_boxes is not None and min_iou is not None and len(values):
        regions = np.stack([
            x0, y0,
            np.minimum(x1 + 1, width - 1),
            np.minimum(y1 + 1, height - 1)
        ], axis=1)
        skipped[~empty] = _iou_upper_bound(regions, gt_boxes) < min_iou

    # Every contour of a binary map gives a box with multi_contour, so the
    # cheaper RETR_LIST (same contours, no hierarchy) is enough; picking the
    # largest contour depends on wsolevaluation's RETR_TREE order on ties.
    mode = cv2.RETR_LIST if multi_contour else cv2.RETR_TREE
    point_sets: List[np.ndarray] = []
    counts = np.ones(len(levels), dtype=np.int64)
    traced = np.zeros(len(levels), dtype=bool)
    for j, value, top, bottom, left, right in zip(
            np.flatnonzero(~empty).tolist(), values.tolist(), y0.tolist(),
            (y1 + 1).tolist(), x0.tolist(), (x1 + 1).tolist()):
        if skipped[j]:
            continue
        _, binary = cv2.threshold(scoremap[top:bottom, left:right],
                                  value - 1, 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(
            binary, mode, cv2.CHAIN_APPROX_SIMPLE,
            offset=(left, top))[_CONTOUR_INDEX]
        if not multi_contour and len(contours) > 1:
            contours = (contours[_largest_contour(contours)], )
        counts[j] = len(contours)
        traced[j] = True
        point_sets.extend(contours)

    boxes = np.zeros((int(counts.sum()), 4), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if point_sets:
        boxes[np.repeat(traced, counts)] = _bounding_boxes(
            point_sets, width, height)
    return _LevelBoxes(boxes, starts, level_of_threshold, skipped)


def _largest_contour(contours) -> int:
    """Index of the first contour of maximal ``cv2.contourArea``."""
    lengths = np.array(list(map(len, contours)), dtype=np.int64)
    points = np.concatenate(contours).reshape(-1, 2).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    prev = np.arange(len(points)) - 1
    prev[starts] = starts + lengths - 1
    x, y = points[:, 0], points[:, 1]
    # cv2.contourArea: |sum(prev.x * y - prev.y * x)| / 2, exact on ints.
    twice_area = np.abs(
        np.add.reduceat(x[prev] * y - y[prev] * x, starts))
    return int(np.argmax(twice_area))


def _bounding_boxes(point_sets, width: int, height: int) -> np.ndarray:
    """wsolevaluation boxes of contours:
    ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]`` with
    ``(x, y, w, h) = cv2.boundingRect(contour)``."""
    lengths = np.array(list(map(len, point_sets)), dtype=np.int64)
    points = np.concatenate(point_sets).reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    boxes = np.empty((len(point_sets), 4), dtype=np.int64)
    boxes[:, 0] = np.minimum.reduceat(points[:, 0], starts)
    boxes[:, 1] = np.minimum.reduceat(points[:, 1], starts)
    boxes[:, 2] = np.minimum(
        np.maximum.reduceat(points[:, 0], starts) + 1, width - 1)
    boxes[:, 3] = np.minimum(
        np.maximum.reduceat(points[:, 1], starts) + 1, height - 1)
    return boxes


def cam_to_boxes(cam,
                 thresholds: Sequence[float],
                 multi_contour: bool = False) -> List[np.ndarray]:
    """Boxes of a CAM at each threshold, as wsolevaluation computes them.

    Foreground at threshold ``tau`` is ``floor(255 cam) > int(tau *
    max(floor(255 cam)))`` (strict); contours come from ``cv2.findContours``
    with ``RETR_TREE`` (holes included); a contour's box is
    ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]`` from
    ``cv2.boundingRect``; without foreground the box is ``[0, 0, 0, 0]``.

    Args:
        cam: (H, W) float map in [0, 1] (array or tensor; converted to
            float64, exactly).
        thresholds: CAM thresholds, fractions of the map maximum, e.g.
            ``np.arange(0, 1, 0.001)``.
        multi_contour (bool): keep the box of every contour (MaxBoxAccV2)
            instead of only the one of largest ``cv2.contourArea`` (first
            one on ties; MaxBoxAcc).

    Returns:
        list[np.ndarray]: one int64 (K, 4) x0y0x1y1 array per threshold
        (K >= 1). Thresholds that give the same binary map share one
        read-only array.

    Raises:
        TypeError, ValueError: on an invalid map (see
            :func:`check_scoremap`).
    """
    cam = check_scoremap(cam, 'cam')
    result = _level_boxes(cam, thresholds, multi_contour)
    per_level = np.split(result.boxes, result.starts[1:])
    for boxes in per_level:
        boxes.flags.writeable = False
    return [per_level[i] for i in result.level_of_threshold]


def cam_to_box_bas(cam, thresholds: Sequence[float]) -> np.ndarray:
    """One box per threshold with BAS's rule (spec 2.2).

    Foreground is ``cam > tau`` on the float map; the box surrounds the
    largest 8-connected component by pixel count (the first in raster order
    on ties) and is ``[min_col, min_row, max_col + 1, max_row + 1]`` with no
    clipping; without foreground it is the whole map ``[0, 0, W, H]``.

    Args:
        cam: (H, W) float map (array or tensor).
        thresholds: CAM thresholds on the map values.

    Returns:
        np.ndarray: int64 array of shape (T, 4).
    """
    check_scoremap(cam, 'cam', check_range=False)
    # Compare in the map's own precision, as BAS does (a float32 map against
    # a Python float threshold compares in float32).
    cam = _to_numpy(cam)
    height, width = cam.shape
    thresholds = _as_thresholds(thresholds).astype(cam.dtype)
    boxes = np.empty((len(thresholds), 4), dtype=np.int64)
    for i, threshold in enumerate(thresholds):
        labels, num = ndimage.label(cam > threshold,
                                    structure=_EIGHT_CONNECTED)
        if num == 0:
            boxes[i] = (0, 0, width, height)
            continue
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        largest = int(np.argmax(sizes))
        rows, cols = ndimage.find_objects(labels, max_label=largest)[-1]
        boxes[i] = (cols.start, rows.start, cols.stop, rows.stop)
    return boxes
