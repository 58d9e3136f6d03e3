# Copyright (c) mmwsl contributors. All rights reserved.
"""Box conventions, IoU and the box rescaling rules of the WSOL protocols.

Boxes are ``(x0, y0, x1, y1)``. With ``pixel_offset=1`` (wsolevaluation and
BAS) both corners are inclusive pixel indices and a box covers
``(x1 - x0 + 1) * (y1 - y0 + 1)`` pixels; with ``pixel_offset=0`` (CCAM's
training-time test and PSOL) the area is continuous, ``(x1 - x0) * (y1 - y0)``.
See ``specs/metrics.md`` sections 0 and 5.3.
"""
from typing import Sequence, Tuple

import numpy as np


def check_box_convention(boxes, name: str = 'boxes') -> np.ndarray:
    """Check boxes follow the x0y0x1y1 convention of wsolevaluation.

    Args:
        boxes (array-like): one box of shape (4,) or boxes of shape (N, 4).
        name (str): how the boxes are called in the error message.

    Returns:
        np.ndarray: the boxes as an (N, 4) array (dtype kept).

    Raises:
        RuntimeError: on a shape other than (4,) or (N, 4), a negative
            coordinate, ``x1 < x0`` or ``y1 < y0`` (as wsolevaluation's
            ``check_box_convention``).
    """
    boxes = np.asarray(boxes)
    if boxes.ndim == 1 and boxes.shape[0] == 4:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise RuntimeError(f'{name} must have shape (4,) or (N, 4) in the '
                           f'x0y0x1y1 convention; got shape {boxes.shape}.')
    if boxes.size == 0:
        return boxes
    if not np.isfinite(boxes).all():
        raise RuntimeError(f'{name} contain non-finite coordinates: '
                           f'{boxes.tolist()}')
    if (boxes < 0).any():
        raise RuntimeError(f'{name} have negative coordinates (x0y0x1y1 '
                           f'convention): {boxes.tolist()}')
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:,
                                                                  1]).any():
        raise RuntimeError(f'{name} violate the x0y0x1y1 convention '
                           f'(x1 < x0 or y1 < y0): {boxes.tolist()}')
    return boxes


def _pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray,
                  pixel_offset: int) -> np.ndarray:
    """IoU matrix without convention checks (for internal hot paths)."""
    a = boxes_a[:, None, :]
    b = boxes_b[None, :, :]
    inter_w = np.maximum(
        0,
        np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) +
        pixel_offset)
    inter_h = np.maximum(
        0,
        np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) +
        pixel_offset)
    inter = inter_w * inter_h
    area_a = ((a[..., 2] - a[..., 0] + pixel_offset) *
              (a[..., 3] - a[..., 1] + pixel_offset))
    area_b = ((b[..., 2] - b[..., 0] + pixel_offset) *
              (b[..., 3] - b[..., 1] + pixel_offset))
    union = area_a + area_b - inter
    degenerate = union <= 0
    ious = inter / np.where(degenerate, 1, union)
    ious[degenerate] = 0
    return ious


def box_iou(boxes_a, boxes_b, pixel_offset: int = 1) -> np.ndarray:
    """Pairwise IoU of two box sets (wsolevaluation's
    ``calculate_multiple_iou``).

    With the default ``pixel_offset=1`` the degenerate box ``[0, 0, 0, 0]``
    covers one pixel, so two such boxes have IoU 1. A pair whose union is not
    positive gets IoU 0.

    Args:
        boxes_a (array-like): (N, 4) boxes, x0y0x1y1.
        boxes_b (array-like): (M, 4) boxes, x0y0x1y1.
        pixel_offset (int): 1 for inclusive pixel corners (wsolevaluation,
            BAS), 0 for continuous coordinates (CCAM, PSOL).

    Returns:
        np.ndarray: float64 array of shape (N, M).
    """
    boxes_a = check_box_convention(boxes_a, 'boxes_a')
    boxes_b = check_box_convention(boxes_b, 'boxes_b')
    return _pairwise_iou(boxes_a, boxes_b, pixel_offset).astype(np.float64)


def resize_bbox(box: Sequence[float], image_size: Tuple[int, int],
                resize_size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """Rescale a box for a plain resize (wsolevaluation, spec 5.3).

    Every coordinate is scaled and truncated with ``int``:
    ``x' = int(x * new_w / w)``.

    Args:
        box: (x0, y0, x1, y1) in original pixels.
        image_size: (width, height) of the original image.
        resize_size: (width, height) after resizing.
    """
    check_box_convention(np.asarray(box), 'box')
    x0, y0, x1, y1 = map(float, box)
    w, h = map(float, image_size)
    new_w, new_h = map(float, resize_size)
    return (int(x0 * new_w / w), int(y0 * new_h / h), int(x1 * new_w / w),
            int(y1 * new_h / h))


def resize_crop_bbox(box: Sequence[float],
                     image_size: Tuple[int, int],
                     resize_size: int = 256,
                     crop_size: int = 224) -> Tuple[int, int, int, int]:
    """Rescale a box for resize + center crop (BAS protocol, spec 5.3).

    ``x0' = int(max(x0 * R / W - s, 0))`` and
    ``x1' = int(min(x1 * R / W - s, crop - 1))`` with ``s = (R - crop) // 2``;
    y likewise with the height. ``int`` truncates toward zero, so a box
    lying entirely in the cropped-off margin can give a negative ``x1'``
    (as in BAS).

    Args:
        box: (x0, y0, x1, y1) in original pixels.
        image_size: (width, height) of the original image.
        resize_size (int): side of the square resize (256).
        crop_size (int): side of the center crop (224).
    """
    x0, y0, x1, y1 = map(float, box)
    w, h = map(float, image_size)
    shift = (resize_size - crop_size) // 2
    last = crop_size - 1
    return (int(max(x0 * resize_size / w - shift, 0)),
            int(max(y0 * resize_size / h - shift, 0)),
            int(min(x1 * resize_size / w - shift, last)),
            int(min(y1 * resize_size / h - shift, last)))
