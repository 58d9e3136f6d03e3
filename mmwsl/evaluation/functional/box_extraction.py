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
* for accuracy counting (:func:`correct_per_threshold`) only the comparison
  of each level's best IoU with the IoU levels matters, so a level is not
  traced at all when bounds settle every comparison (:func:`_level_boxes`):
  an upper bound from the foreground's bounding box (no box inside it can
  beat it), and, with every contour kept, bounds carried down from the
  levels traced above it (a component only grows as the threshold falls,
  and while the crop stays the same everything else stays inside the
  regions around it).

With ``multi_contour`` the boxes of a level come in ``RETR_LIST`` order, not
in wsolevaluation's ``RETR_TREE`` order: only their best IoU is ever used.
The tests compare all of this with the per-threshold loop of
``tools/analysis_tools/benchmark_metrics.py`` (a transcription of
wsolevaluation) on random maps, boxes and accuracies alike.

:func:`cam_to_box_bas` is BAS's rule (section 2.2): strict ``>`` on the float
map, the largest 8-connected component by pixel count, an exclusive unclipped
box, and the whole image when nothing is above the threshold.
"""

from bisect import bisect_right
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
        boxes: (M, 4) int64 boxes of the traced levels, level after level;
            an empty or untraced level contributes the single box
            [0, 0, 0, 0].
        starts: (L,) index of each level's first box in ``boxes``.
        level_of_threshold: (T,) level index of each threshold.
        settled: (L,) float64, NaN for the traced levels; for the others the
            value that stands for their best IoU: -1 where no box can reach
            the lowest IoU level, otherwise an IoU that is on the same side
            of every IoU level as the best IoU of the untraced boxes.
    """

    boxes: np.ndarray
    starts: np.ndarray
    level_of_threshold: np.ndarray
    settled: np.ndarray


def _as_thresholds(thresholds) -> np.ndarray:
    thresholds = np.asarray(thresholds)
    if thresholds.ndim != 1:
        thresholds = thresholds.reshape(-1)
    if not np.issubdtype(thresholds.dtype, np.floating):
        thresholds = thresholds.astype(np.float64)
    return thresholds


def _first_last(
    maxima: np.ndarray, values: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """First and last index with ``maxima >= value`` for each value (each
    value must be reached somewhere)."""
    first = np.searchsorted(np.maximum.accumulate(maxima), values)
    last = (
        len(maxima)
        - 1
        - np.searchsorted(np.maximum.accumulate(maxima[::-1]), values)
    )
    return first, last


def _box_area(boxes: np.ndarray) -> np.ndarray:
    """+1 pixel areas of (N, 4) boxes."""
    return (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)


def _intersection(boxes: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """(N, G) +1 pixel intersection areas."""
    a = boxes[:, None, :]
    g = gt_boxes[None, :, :]
    return np.maximum(
        0,
        np.minimum(a[..., 2], g[..., 2])
        - np.maximum(a[..., 0], g[..., 0])
        + 1,
    ) * np.maximum(
        0,
        np.minimum(a[..., 3], g[..., 3])
        - np.maximum(a[..., 1], g[..., 1])
        + 1,
    )


def _iou_upper_bound(regions: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """``max_g |R ∩ g| / |g|`` (+1 pixel areas) for each region R.

    Every box inside R has ``IoU(b, g) = |b∩g| / (|b| + |g| - |b∩g|) <=
    |R∩g| / |g|``; the float division rounds monotonically, so a bound below
    the float IoU level proves the computed IoU is below it too.
    """
    area = _box_area(gt_boxes)
    return (
        _intersection(regions, gt_boxes) / np.maximum(area, 1)[None, :]
    ).max(axis=1)


def _integral(boxes: np.ndarray) -> bool:
    """Whether all coordinates are integers small enough for exact areas."""
    if np.issubdtype(boxes.dtype, np.integer):
        return bool(np.abs(boxes).max(initial=0) < 2**24)
    return bool(
        np.isfinite(boxes).all()
        and (boxes == np.round(boxes)).all()
        and np.abs(boxes).max(initial=0) < 2**24
    )


def _covered(
    x0: int, y0: int, x1: int, y1: int, gt_boxes: List[List[int]]
) -> List[int]:
    """+1 pixel intersection areas of one box with each GT box."""
    return [
        max(0, min(x1, g[2]) - max(x0, g[0]) + 1)
        * max(0, min(y1, g[3]) - max(y0, g[1]) + 1)
        for g in gt_boxes
    ]


def _union(box: Sequence[int], gt_boxes: List[List[int]]) -> List[int]:
    """+1 pixel union areas of one box with each GT box."""
    area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    return [
        area + (g[2] - g[0] + 1) * (g[3] - g[1] + 1) - inter
        for g, inter in zip(gt_boxes, _covered(*box, gt_boxes))
    ]


def _settle_lower_levels(
    binary: np.ndarray,
    seed: Tuple[int, int],
    box: Sequence[int],
    region: Sequence[int],
    size: Tuple[int, int],
    gt_boxes: List[List[int]],
    deltas: Sequence[float],
) -> Optional[float]:
    """Decide every IoU level for the lower levels that share this crop.

    ``binary`` is the foreground of one level cropped to its bounding box R,
    ``region`` R's box, ``seed`` a pixel (crop coordinates) of an
    8-connected component G and ``box`` a box inside G's box. At every
    lower level whose foreground has the same bounding box R:

    * the component containing G has a box b with ``box <= b <= box(R)``,
      so its IoU with g is at least ``|box & g| / |box(R) | g|`` and at most
      ``|box(R) & g| / |box | g|`` (when G spans R both are ``IoU(box(R),
      g)``);
    * every other component and every hole lies in one 4-connected region
      Z of R minus G (a pixel 8-adjacent to G would join G's component, so
      such a component never touches G, and a step between two of its
      diagonal pixels passes through a 4-neighbour outside G; holes are
      background, hence outside G), and its box lies inside Z's bounding
      box grown by one pixel to the left and top and by two to the right
      and bottom: :func:`_iou_upper_bound` of that grown box caps its IoU
      (the 8-connected regions of R minus G, unions of the 4-connected
      ones, are used).

    Returns:
        float | None: the lower bound when no IoU level lies between it and
        the largest upper bound, else None.
    """
    lower = max(
        inter / union
        for inter, union in zip(
            _covered(*box, gt_boxes), _union(region, gt_boxes)
        )
    )
    lower_class = bisect_right(deltas, lower)
    upper = max(
        inter / union
        for inter, union in zip(
            _covered(*region, gt_boxes), _union(box, gt_boxes)
        )
    )
    if bisect_right(deltas, upper) > lower_class:
        return None
    if lower_class == len(deltas):
        return lower
    height, width = binary.shape
    image_height, image_width = size
    mask = np.zeros((height + 2, width + 2), np.uint8)
    cv2.floodFill(
        binary, mask, seed, 0, 0, 0, 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    )
    rest = (mask[1:-1, 1:-1] == 0).view(np.uint8)
    parts = cv2.findContours(rest, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[
        _CONTOUR_INDEX
    ]
    if len(parts):
        left, top = region[0], region[1]
        rects = np.array([cv2.boundingRect(p) for p in parts], np.int64)
        regions = np.stack(
            [
                np.maximum(left + rects[:, 0] - 1, 0),
                np.maximum(top + rects[:, 1] - 1, 0),
                np.minimum(
                    left + rects[:, 0] + rects[:, 2] + 1, image_width - 1
                ),
                np.minimum(
                    top + rects[:, 1] + rects[:, 3] + 1, image_height - 1
                ),
            ],
            axis=1,
        )
        upper = float(_iou_upper_bound(regions, np.array(gt_boxes)).max())
        if bisect_right(deltas, upper) > lower_class:
            return None
    return lower


# Lower levels are settled from a traced level when at least this many share
# its crop, and after a failed try only this many levels lower down.
_SETTLE_MIN_LEVELS = 4
_SETTLE_RETRY = 2


def _level_boxes(
    cam: np.ndarray,
    thresholds: Sequence[float],
    multi_contour: bool,
    gt_boxes: Optional[np.ndarray] = None,
    iou_levels: Optional[Sequence[float]] = None,
) -> _LevelBoxes:
    """Boxes at every distinct binary map of a validated float64 CAM.

    With ``gt_boxes`` and ``iou_levels`` (IoU thresholds as fractions), a
    level is not traced when its comparison with every IoU level is known
    without its boxes (``settled``). Each level's boxes lie inside the box
    of its foreground's bounding box R, which gives an upper bound on its
    best IoU (:func:`_iou_upper_bound`). With ``multi_contour``, levels are
    traced from the highest down, and each traced level bounds the lower
    ones through the component C of its longest contour:

    * C lies, at every lower level, in a component whose box b satisfies
      ``box(C) <= b <= box(R)``, so ``IoU(b, g) >= |box(C) & g| / |box(R)
      | g|``;
    * at the lower levels with the same crop, every other box also lies in
      a region around C (:func:`_settle_lower_levels`, tried when at least
      ``_SETTLE_MIN_LEVELS`` such levels follow), which settles them all
      at once when C's box is close enough to the crop's, typically when C
      spans it.

    A level is settled when no IoU level lies between its lower and upper
    bounds; it then stands for its best IoU with the lower bound (or -1
    when the upper bound is below every IoU level).
    """
    height, width = cam.shape
    scoremap = (cam * 255).astype(np.uint8)
    thresholds = _as_thresholds(thresholds)
    # wsolevaluation: int(threshold * np.max(scoremap_image)); the product
    # keeps the dtype of the threshold (float64 for Python floats).
    int_thresholds = (thresholds * scoremap.max()).astype(np.int64)

    histogram = cv2.calcHist([scoremap], [0], None, [256], [0, 256])
    present = np.flatnonzero(histogram.ravel())
    # S8 > t  <=>  S8 >= present[pos] with pos the first value above t.
    pos = np.searchsorted(present, int_thresholds, side='right')
    # Distinct positions in increasing order (the levels) and the level
    # of each threshold; the empty level, if any, is the last one.
    used = np.zeros(len(present) + 1, dtype=bool)
    used[pos] = True
    levels = np.flatnonzero(used)
    level_of_threshold = (np.cumsum(used) - 1)[pos]
    values = present[levels[levels < len(present)]]
    num_levels, num_traceable = len(levels), len(values)

    # Bounding box of each level's foreground (S8 >= value): the region
    # traced. The first row reaching a value is where the running maximum
    # of the row maxima reaches it, the last one likewise from the bottom.
    y0, y1 = _first_last(scoremap.max(axis=1), values)
    x0, x1 = _first_last(scoremap.max(axis=0), values)
    crops_array = np.stack([x0, y0, x1 + 1, y1 + 1], axis=1)
    crops = crops_array.tolist()
    values = values.tolist()
    settled = np.full(num_levels, np.nan)
    # The bounds compare float IoUs computed from exact integer areas.
    decide = (
        gt_boxes is not None and iou_levels is not None and _integral(gt_boxes)
    )
    carry = decide and multi_contour
    if decide:
        deltas = sorted(float(d) for d in iou_levels)
        regions = np.stack(
            [
                x0,
                y0,
                np.minimum(x1 + 1, width - 1),
                np.minimum(y1 + 1, height - 1),
            ],
            axis=1,
        )
        # |R & g| and |R | g| for every level's crop box R and GT box g.
        inter = _intersection(regions, gt_boxes)
        gt_area = _box_area(gt_boxes)
        upper = (inter / np.maximum(gt_area, 1)).max(axis=1)
        settled[:num_traceable][upper < deltas[0]] = -1
    if carry:
        upper_class = np.searchsorted(deltas, upper, side='right').tolist()
        region_union = (
            _box_area(regions)[:, None] + gt_area[None, :] - inter
        ).tolist()
        gt_list = gt_boxes.tolist()
        regions_list = regions.tolist()
        # Number of consecutive lower levels with the same crop.
        index = np.arange(num_traceable)
        new_crop = np.ones(num_traceable, dtype=bool)
        new_crop[1:] = (np.diff(crops_array, axis=0) != 0).any(axis=1)
        same_below = (
            index - np.maximum.accumulate(np.where(new_crop, index, 0))
        ).tolist()

    # Every contour gives a box with multi_contour, so the cheaper RETR_LIST
    # (same contours as RETR_TREE, no hierarchy) is enough; picking the
    # largest contour depends on wsolevaluation's RETR_TREE order on ties.
    mode = cv2.RETR_LIST if multi_contour else cv2.RETR_TREE
    per_level: List = [()] * num_levels
    state = settled.tolist()
    covered = None  # per GT box: |b & g| for a box b of the last traced level
    next_try = num_traceable
    for j in range(num_traceable - 1, -1, -1):
        if state[j] == state[j]:  # not NaN: settled
            continue
        if covered is not None:
            lower = max(c / u for c, u in zip(covered, region_union[j]))
            if bisect_right(deltas, lower) == upper_class[j]:
                state[j] = lower
                continue
        left, top, right, bottom = crops[j]
        _, binary = cv2.threshold(
            scoremap[top:bottom, left:right],
            values[j] - 1,
            255,
            cv2.THRESH_BINARY,
        )
        contours = cv2.findContours(
            binary, mode, cv2.CHAIN_APPROX_SIMPLE, offset=(left, top)
        )[_CONTOUR_INDEX]
        if not multi_contour and len(contours) > 1:
            contours = (contours[_largest_contour(contours)],)
        per_level[j] = contours
        if not carry:
            continue
        # Any box of a level lies in the box of one of its components (a
        # hole's in that of the component around it), and a component only
        # grows at lower levels: the longest contour's box is the witness.
        longest = max(contours, key=len)
        x, y, w, h = cv2.boundingRect(longest)
        box = (x, y, min(x + w, width - 1), min(y + h, height - 1))
        covered = _covered(*box, gt_list)
        run = same_below[j]
        if run >= _SETTLE_MIN_LEVELS and j <= next_try:
            seed = (int(longest[0, 0, 0]) - left, int(longest[0, 0, 1]) - top)
            iou = _settle_lower_levels(
                binary,
                seed,
                box,
                regions_list[j],
                (height, width),
                gt_list,
                deltas,
            )
            if iou is None:
                next_try = j - _SETTLE_RETRY
            else:
                state[j - run : j] = [iou] * run
    settled[:] = state

    counts = np.fromiter(map(len, per_level), np.int64, num_levels)
    traced = counts > 0
    counts[~traced] = 1
    boxes = np.zeros((int(counts.sum()), 4), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if traced.any():
        point_sets = [c for contours in per_level for c in contours]
        boxes[np.repeat(traced, counts)] = _bounding_boxes(
            point_sets, width, height
        )
    return _LevelBoxes(boxes, starts, level_of_threshold, settled)


def _largest_contour(contours) -> int:
    """Index of the first contour of maximal ``cv2.contourArea``."""
    lengths = np.array(list(map(len, contours)), dtype=np.int64)
    points = np.concatenate(contours).reshape(-1, 2).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    prev = np.arange(len(points)) - 1
    prev[starts] = starts + lengths - 1
    x, y = points[:, 0], points[:, 1]
    # cv2.contourArea: |sum(prev.x * y - prev.y * x)| / 2, exact on ints.
    twice_area = np.abs(np.add.reduceat(x[prev] * y - y[prev] * x, starts))
    return int(np.argmax(twice_area))


def _bounding_boxes(point_sets, width: int, height: int) -> np.ndarray:
    """wsolevaluation boxes of contours:
    ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]`` with
    ``(x, y, w, h) = cv2.boundingRect(contour)``."""
    lengths = np.fromiter(map(len, point_sets), np.int64, len(point_sets))
    points = np.concatenate(point_sets).reshape(-1, 2)
    starts = np.zeros(len(point_sets), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    boxes = np.empty((len(point_sets), 4), dtype=np.int64)
    boxes[:, :2] = np.minimum.reduceat(points, starts, axis=0)
    boxes[:, 2:] = np.maximum.reduceat(points, starts, axis=0)
    boxes[:, 2:] += 1
    np.minimum(boxes[:, 2:], (width - 1, height - 1), out=boxes[:, 2:])
    return boxes


def cam_to_boxes(
    cam, thresholds: Sequence[float], multi_contour: bool = False
) -> List[np.ndarray]:
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
        labels, num = ndimage.label(
            cam > threshold, structure=_EIGHT_CONNECTED
        )
        if num == 0:
            boxes[i] = (0, 0, width, height)
            continue
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        largest = int(np.argmax(sizes))
        rows, cols = ndimage.find_objects(labels, max_label=largest)[-1]
        boxes[i] = (cols.start, rows.start, cols.stop, rows.stop)
    return boxes
