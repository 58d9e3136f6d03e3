# Copyright (c) mmwsl contributors. All rights reserved.
"""Box-aware geometric transforms for WSOL.

Box convention
--------------
``results['gt_bboxes']`` is an N×4 array ``(x0, y0, x1, y1)`` of *inclusive*
pixel corners (the wsolevaluation convention: a box covers columns
``x0..x1``), in the coordinates of the current image. Every transform here
keeps that invariant: boxes come out as float32 arrays of whole numbers with
``0 <= x0 <= x1 <= W - 1`` and ``0 <= y0 <= y1 <= H - 1``.

The arithmetic follows the reference evaluation protocols exactly:

- resize ``W×H -> W'×H'``: ``x' = floor(x * W' / W)`` (wsolevaluation's
  ``resize_bbox``; ``int`` truncation equals ``floor`` for these
  non-negative values), then clipped to ``[0, W' - 1]``;
- crop at offset ``(ox, oy)`` with size ``w×h``: ``x' = x - ox`` clipped to
  ``[0, w - 1]`` (partially cut boxes shrink to the crop);
- horizontal flip of a ``W``-wide image: ``(x0, x1) -> (W-1-x1, W-1-x0)``
  (pixel column ``c`` moves to ``W - 1 - c``).

Because crop offsets and clip limits are whole numbers, flooring at the
resize and then shifting and clipping equals BAS's rule for
``Resize((256, 256))`` + ``CenterCrop(224)``,
``x0' = int(max(x0 * 256 / W - 16, 0))`` and
``x1' = int(min(x1 * 256 / W - 16, 223))``, for every box that overlaps the
crop. A box lying entirely outside a crop (possible only for tiny boxes in
the cut-off margin) collapses onto the nearest crop border instead of
becoming the negative or reversed box of the reference arithmetic; neither
can reach an IoU of 0.3 with a prediction.

mmcv's ``Resize``, ``CenterCrop`` and ``RandomFlip`` treat boxes as continuous
corners (no flooring, clipping to ``W`` instead of ``W - 1``, flipping to
``W - x``), and mmpretrain's ``RandomCrop`` / ``RandomResizedCrop`` ignore
boxes and masks; the classes below subclass them and replace only the box
(and mask) arithmetic, so the random parameters and image processing are
theirs. Segmentation maps (``gt_seg_map``, e.g. a WSOL mask with 255 =
ignore) are always resized with OpenCV nearest neighbour, as
wsolevaluation resizes its masks, and padded with 255.
"""

import math
from typing import Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import CenterCrop, RandomFlip, Resize
from mmpretrain.datasets.transforms import RandomCrop, RandomResizedCrop

from mmwsl.registry import TRANSFORMS

SEG_PAD_VAL = 255


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _clip(boxes: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    w, h = size
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w - 1)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h - 1)
    return boxes.astype(np.float32)


def resize_boxes(
    boxes: np.ndarray, src_size: Tuple[int, int], dst_size: Tuple[int, int]
) -> np.ndarray:
    """Map inclusive-corner boxes from a ``W×H`` to a ``W'×H'`` image.

    ``x' = floor(x * W' / W)``, ``y' = floor(y * H' / H)``, clipped to
    ``[0, W' - 1]`` / ``[0, H' - 1]``. The product is formed before the
    division, as wsolevaluation does, so exact multiples are not lost to
    rounding.

    Args:
        boxes (np.ndarray): N×4 ``(x0, y0, x1, y1)``.
        src_size (tuple[int, int]): ``(W, H)`` of the source image.
        dst_size (tuple[int, int]): ``(W', H')`` of the resized image.

    Returns:
        np.ndarray: float32 N×4 boxes in the resized image.

    Examples:
        >>> resize_boxes(np.array([[1, 2, 4, 3]]), (10, 20), (35, 10))
        array([[ 3.,  1., 14.,  1.]], dtype=float32)
    """
    boxes = _as_boxes(boxes)
    (w, h), (new_w, new_h) = src_size, dst_size
    num = np.array([new_w, new_h, new_w, new_h], dtype=np.float64)
    den = np.array([w, h, w, h], dtype=np.float64)
    return _clip(np.floor(boxes * num / den), dst_size)


def crop_boxes(
    boxes: np.ndarray, offset: Tuple[int, int], crop_size: Tuple[int, int]
) -> np.ndarray:
    """Move inclusive-corner boxes into a crop window.

    ``x' = x - ox``, clipped to ``[0, w - 1]`` (likewise for y): a box
    partially outside the window is cut at its border; a box entirely
    outside collapses onto the nearest border.

    Args:
        boxes (np.ndarray): N×4 ``(x0, y0, x1, y1)``.
        offset (tuple[int, int]): ``(ox, oy)``, the window's top-left pixel.
        crop_size (tuple[int, int]): ``(w, h)`` of the window.

    Returns:
        np.ndarray: float32 N×4 boxes in the crop.
    """
    boxes = _as_boxes(boxes)
    ox, oy = offset
    return _clip(boxes - np.array([ox, oy, ox, oy]), crop_size)


def flip_boxes(
    boxes: np.ndarray, img_size: Tuple[int, int], direction: str
) -> np.ndarray:
    """Flip inclusive-corner boxes with their ``W×H`` image.

    Args:
        boxes (np.ndarray): N×4 ``(x0, y0, x1, y1)``.
        img_size (tuple[int, int]): ``(W, H)`` of the image.
        direction (str): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``.

    Returns:
        np.ndarray: float32 N×4 flipped boxes.
    """
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(
            "direction must be 'horizontal', 'vertical' or "
            f"'diagonal', got {direction!r}"
        )
    boxes = _as_boxes(boxes)
    w, h = img_size
    flipped = boxes.copy()
    if direction in ('horizontal', 'diagonal'):
        flipped[:, 0] = w - 1 - boxes[:, 2]
        flipped[:, 2] = w - 1 - boxes[:, 0]
    if direction in ('vertical', 'diagonal'):
        flipped[:, 1] = h - 1 - boxes[:, 3]
        flipped[:, 3] = h - 1 - boxes[:, 1]
    return flipped.astype(np.float32)


def _resize_seg(seg: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize with OpenCV (as wsolevaluation's masks)."""
    return mmcv.imresize(seg, size, interpolation='nearest', backend='cv2')


@TRANSFORMS.register_module()
class WSOLResize(Resize):
    """mmcv's ``Resize`` with exact inclusive-corner box arithmetic.

    The image is resized by mmcv (``scale`` is ``(w, h)``; with
    ``keep_ratio`` the longer/shorter edge rule of mmcv applies). Boxes
    follow :func:`resize_boxes` with the actual old and new image sizes, so
    ``WSOLResize(scale=(224, 224))`` gives wsolevaluation's
    ``x' = int(x * 224 / W)``. ``gt_seg_map`` is resized with OpenCV nearest
    neighbour to the new image size, whatever ``backend`` the image uses.

    Use ``backend='pillow'`` (bilinear) to resize images as torchvision does
    on PIL images in the reference code.

    Required keys: ``img``. Optional: ``gt_bboxes`` (N×4), ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_bboxes``, ``gt_seg_map``.
    Added keys: ``scale``, ``scale_factor``, ``keep_ratio``.

    Args:
        Same as mmcv's ``Resize``; ``clip_object_border`` is ignored (boxes
        are always clipped to the image).
    """

    def _resize_bboxes(self, results: dict) -> None:
        # Boxes need the old image size; see ``transform``.
        pass

    def _resize_seg(self, results: dict) -> None:
        if results.get('gt_seg_map', None) is not None:
            h, w = results['img_shape'][:2]
            results['gt_seg_map'] = _resize_seg(results['gt_seg_map'], (w, h))

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        results = super().transform(results)
        if results.get('gt_bboxes', None) is not None:
            new_h, new_w = results['img'].shape[:2]
            results['gt_bboxes'] = resize_boxes(
                results['gt_bboxes'], (w, h), (new_w, new_h)
            )
        return results


@TRANSFORMS.register_module()
class WSOLCenterCrop(CenterCrop):
    """mmcv's ``CenterCrop`` with exact inclusive-corner box arithmetic.

    The window starts at ``round((W - w) / 2)``, ``round((H - h) / 2)``
    (16 for 256 -> 224, as torchvision's ``CenterCrop``); boxes follow
    :func:`crop_boxes`, so boxes cut by the window are clipped to it.
    ``crop_size`` is ``(w, h)`` or an int. With ``auto_pad`` the image is
    padded at the right and bottom first (boxes do not move; the mask is
    padded with 255 = ignore).

    Required keys: ``img``. Optional: ``gt_bboxes``, ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_bboxes``, ``gt_seg_map``.
    """

    def _crop_bboxes(self, results: dict, bboxes: np.ndarray) -> None:
        if results.get('gt_bboxes', None) is not None:
            x0, y0, x1, y1 = (int(v) for v in bboxes)
            results['gt_bboxes'] = crop_boxes(
                results['gt_bboxes'], (x0, y0), (x1 - x0 + 1, y1 - y0 + 1)
            )


@TRANSFORMS.register_module()
class WSOLRandomFlip(RandomFlip):
    """mmcv's ``RandomFlip`` with the inclusive-corner box flip
    ``x -> W - 1 - x`` (:func:`flip_boxes`); the image and ``gt_seg_map``
    are flipped by mmcv.

    Args:
        Same as mmcv's ``RandomFlip`` (``prob``, ``direction``).
    """

    def _flip_bbox(
        self, bboxes: np.ndarray, img_shape: Tuple[int, int], direction: str
    ) -> np.ndarray:
        h, w = img_shape[:2]
        return flip_boxes(bboxes, (w, h), direction)


def _padding_ltrb(padding: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    """(left, top, right, bottom) of an ``mmcv.impad`` padding argument."""
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(
        f'padding must be an int or a sequence of 2 or 4, got {padding}'
    )


def _crop_window(
    offset_w: int, offset_h: int, target_w: int, target_h: int
) -> np.ndarray:
    return np.array(
        [offset_w, offset_h, offset_w + target_w - 1, offset_h + target_h - 1]
    )


@TRANSFORMS.register_module()
class WSOLRandomCrop(RandomCrop):
    """mmpretrain's ``RandomCrop`` that also crops ``gt_bboxes`` and
    ``gt_seg_map``.

    Padding (``padding`` and ``pad_if_needed``) shifts boxes by the left and
    top padding and pads the mask with 255 (ignore); the crop then follows
    :func:`crop_boxes`, clipping boxes cut by the window. ``crop_size`` is
    ``(h, w)`` or an int, as in mmpretrain.

    Required keys: ``img``. Optional: ``gt_bboxes``, ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_bboxes``, ``gt_seg_map``.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        seg = results.get('gt_seg_map', None)
        shift_w = shift_h = 0

        def pad(ltrb: Tuple[int, ...], mode: str) -> None:
            nonlocal img, seg, shift_w, shift_h
            img = mmcv.impad(
                img, padding=ltrb, pad_val=self.pad_val, padding_mode=mode
            )
            if seg is not None:
                seg = mmcv.impad(seg, padding=ltrb, pad_val=SEG_PAD_VAL)
            shift_w += ltrb[0]
            shift_h += ltrb[1]

        if self.padding is not None:
            pad(_padding_ltrb(self.padding), 'constant')
        if self.pad_if_needed:
            pad_h = math.ceil(max(0, self.crop_size[0] - img.shape[0]) / 2)
            pad_w = math.ceil(max(0, self.crop_size[1] - img.shape[1]) / 2)
            pad((pad_w, pad_h, pad_w, pad_h), self.padding_mode)

        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        window = _crop_window(offset_w, offset_h, target_w, target_h)
        results['img'] = mmcv.imcrop(img, window)
        results['img_shape'] = results['img'].shape[:2]
        if seg is not None:
            results['gt_seg_map'] = mmcv.imcrop(seg, window)
        if results.get('gt_bboxes', None) is not None:
            results['gt_bboxes'] = crop_boxes(
                results['gt_bboxes'],
                (offset_w - shift_w, offset_h - shift_h),
                (target_w, target_h),
            )
        return results


@TRANSFORMS.register_module()
class WSOLRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that also transforms ``gt_bboxes``
    and ``gt_seg_map``.

    Boxes are cropped (:func:`crop_boxes`, clipped to the window) and then
    resized from the window size to ``scale`` (:func:`resize_boxes`); the
    mask is cropped and resized with OpenCV nearest neighbour. ``scale`` is
    ``(h, w)`` or an int, as in mmpretrain.

    Required keys: ``img``. Optional: ``gt_bboxes``, ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_bboxes``, ``gt_seg_map``.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        window = _crop_window(offset_w, offset_h, target_w, target_h)
        out_size = (self.scale[1], self.scale[0])  # (w, h)
        img = mmcv.imcrop(img, window)
        results['img'] = mmcv.imresize(
            img,
            out_size,
            interpolation=self.interpolation,
            backend=self.backend,
        )
        results['img_shape'] = results['img'].shape[:2]
        seg: Optional[np.ndarray] = results.get('gt_seg_map', None)
        if seg is not None:
            results['gt_seg_map'] = _resize_seg(
                mmcv.imcrop(seg, window), out_size
            )
        if results.get('gt_bboxes', None) is not None:
            boxes = crop_boxes(
                results['gt_bboxes'],
                (offset_w, offset_h),
                (target_w, target_h),
            )
            results['gt_bboxes'] = resize_boxes(
                boxes, (target_w, target_h), out_size
            )
        return results
