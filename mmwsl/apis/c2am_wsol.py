# Copyright (c) mmwsl contributors. All rights reserved.
"""Class-agnostic boxes of C²AM and pseudo-box export (spec section 4).

The reference extracts boxes from the map at feature resolution (28×28 for
a 448 input) and scales them by the stride, picks the threshold with the
best CorLoc (continuous IoU > 0.5) on the validation images, and exports one
box per training image as ``[x, y, w, h]`` normalised to the resized image,
for a second stage (PSOL) that regresses boxes.
"""

import json
import os
import os.path as osp
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmwsl.evaluation.functional import cam_to_boxes

#: The reference threshold list, 0.05, 0.10, ..., 0.95.
REFERENCE_THRESHOLDS = tuple((i + 1) / 20 for i in range(19))


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def c2am_boxes(
    fmap,
    thresholds: Sequence[float],
    input_size: Optional[Sequence[int]] = None,
    multi_contour: bool = False,
) -> List[np.ndarray]:
    """Boxes of a C²AM map at feature resolution, as the reference computes
    them.

    The map (after the polarity flip, values in [0, 1], not normalised) is
    quantised in float32 as ``uint8(map * 255)``; at threshold ``t`` the
    foreground is ``u8 > int(t * max(u8))``; the largest contour's box
    ``[x, y, min(x + w, w_map - 1), min(y + h, h_map - 1)]`` (or
    ``[0, 0, 0, 0]`` without foreground) is multiplied by the stride
    ``input_size / map_size``. Boxes therefore never reach the last stride
    of the input (a full-map box on 448 is ``[0, 0, 432, 432]``).

    Args:
        fmap: ``(h, w)`` map (array or tensor).
        thresholds: Relative thresholds, e.g. :data:`REFERENCE_THRESHOLDS`.
        input_size: ``(H, W)`` of the network input; None for factor 1.
        multi_contour: Keep every contour's box (not the reference).

    Returns:
        list[np.ndarray]: one float64 ``(K, 4)`` xyxy array per threshold,
        in input pixels.
    """
    fmap = _to_numpy(fmap)
    if fmap.ndim != 2:
        raise ValueError(f'Expected an (h, w) map, got shape {fmap.shape}.')
    u8 = (fmap.astype(np.float32) * np.float32(255)).astype(np.uint8)
    height, width = fmap.shape
    if input_size is None:
        factor = np.ones(4)
    else:
        fy, fx = input_size[0] / height, input_size[1] / width
        factor = np.array([fx, fy, fx, fy])
    # k / 255 in float64 quantises back to exactly k in cam_to_boxes.
    boxes = cam_to_boxes(
        u8.astype(np.float64) / 255, thresholds, multi_contour=multi_contour
    )
    return [b.astype(np.float64) * factor for b in boxes]


def continuous_iou(box, gt_boxes, clamp_overlap: bool = True) -> float:
    """Best IoU of ``box`` with any of ``gt_boxes``, continuous areas
    ``(x1 - x0) * (y1 - y0)`` (no +1), as the reference CorLoc.

    Args:
        box: ``(4, )`` xyxy box.
        gt_boxes: ``(N, 4)`` xyxy boxes.
        clamp_overlap: Clamp the overlap widths at 0 (the CUB path). False
            reproduces the reference ILSVRC function (spec quirk 7): boxes
            disjoint in both x and y get a positive "intersection".
    """
    box = _to_numpy(box).astype(np.float64).reshape(4)
    gt = _to_numpy(gt_boxes).astype(np.float64).reshape(-1, 4)
    if len(gt) == 0:
        raise ValueError('continuous_iou needs at least one GT box.')
    iw = np.minimum(box[2], gt[:, 2]) - np.maximum(box[0], gt[:, 0])
    ih = np.minimum(box[3], gt[:, 3]) - np.maximum(box[1], gt[:, 1])
    if clamp_overlap:
        iw, ih = np.maximum(iw, 0), np.maximum(ih, 0)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    union = area + areas - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return float(iou.max())


def corloc_curve(
    maps: Iterable,
    gt_boxes: Iterable,
    input_sizes: Iterable[Sequence[int]],
    thresholds: Sequence[float] = REFERENCE_THRESHOLDS,
    iou_threshold: float = 0.5,
    clamp_overlap: bool = True,
) -> np.ndarray:
    """CorLoc (percent of images whose box has IoU > ``iou_threshold`` with
    a GT box) at every threshold, with :func:`c2am_boxes` (largest contour)
    and :func:`continuous_iou`.

    Returns:
        np.ndarray: ``(T, )`` CorLoc in percent.
    """
    correct = np.zeros(len(thresholds))
    count = 0
    for fmap, gt, size in zip(maps, gt_boxes, input_sizes):
        for t, boxes in enumerate(c2am_boxes(fmap, thresholds, size)):
            iou = continuous_iou(boxes[0], gt, clamp_overlap)
            correct[t] += iou > iou_threshold
        count += 1
    if count == 0:
        raise ValueError('corloc_curve got no images.')
    return 100 * correct / count


def pseudo_box_xywh(
    box,
    resize: Sequence[int] = (480, 480),
    crop_offset: Sequence[int] = (16, 16),
) -> List[float]:
    """A crop box as the reference stores it: shifted by the crop offset,
    ``[x, y, w, h]`` divided by the resized image size.

    Because the resize ignores the aspect ratio, the result is the fraction
    of the original image width and height.

    Args:
        box: ``(4, )`` xyxy box in the crop.
        resize: ``(W, H)`` of the resized image.
        crop_offset: ``(x, y)`` of the crop window in the resized image.
    """
    x0, y0, x1, y1 = (float(v) for v in _to_numpy(box).reshape(4))
    (width, height), (ox, oy) = resize, crop_offset
    return [
        (x0 + ox) / width,
        (y0 + oy) / height,
        (x1 - x0) / width,
        (y1 - y0) / height,
    ]


def save_json_atomic(obj, path: str) -> None:
    """Write ``obj`` as JSON to a temporary file, then rename it into
    place, so readers never see a half-written file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix='.json')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def pseudo_box_key(img_path: str, relative_to: Optional[str] = None) -> str:
    """JSON key of an image: its path (``//`` collapsed, as the reference
    does), or the path relative to ``relative_to``."""
    key = (
        img_path if relative_to is None else osp.relpath(img_path, relative_to)
    )
    while '//' in key:
        key = key.replace('//', '/')
    return key


def load_pseudo_boxes(path: str) -> Dict[str, List[float]]:
    """Read pseudo boxes: one JSON file ``{image: [x, y, w, h]}``, or a
    folder of them (the reference writes one file per batch), merged.

    Raises:
        ValueError: naming the file, for malformed content.
    """
    files = (
        [path]
        if osp.isfile(path)
        else sorted(
            osp.join(path, f) for f in os.listdir(path) if f.endswith('.json')
        )
    )
    if not files:
        raise FileNotFoundError(f'No pseudo-box JSON file at {path}.')
    boxes: Dict[str, List[float]] = {}
    for file in files:
        try:
            with open(file) as f:
                content = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{file} is not valid JSON: {e}') from e
        if not isinstance(content, dict):
            raise ValueError(
                f'{file} must hold a JSON object {{image: [x, y, w, h]}}.'
            )
        for key, box in content.items():
            if not (
                isinstance(box, list)
                and len(box) == 4
                and all(isinstance(v, (int, float)) for v in box)
            ):
                raise ValueError(
                    f'{file}: the box of {key!r} must be four '
                    f'numbers [x, y, w, h], got {box!r}.'
                )
            boxes[key] = [float(v) for v in box]
    return boxes


def _centre_offset(
    resize: Sequence[int], crop_shape: Sequence[int]
) -> Tuple[int, int]:
    """Offset of a centre crop (mmcv/torchvision rounding)."""
    return (
        int(round((resize[0] - crop_shape[1]) / 2)),
        int(round((resize[1] - crop_shape[0]) / 2)),
    )


@torch.no_grad()
def predict_c2am_maps(model, dataloader) -> Iterable[Tuple[dict, np.ndarray]]:
    """Yield ``(metainfo + gt_bboxes, c2am_map)`` for every sample of a
    dataloader, the map at feature resolution after the polarity flip."""
    model.eval()
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        for sample in model(**data, mode='predict'):
            info = dict(sample.metainfo)
            if 'gt_bboxes' in sample:
                info['gt_bboxes'] = _to_numpy(sample.gt_bboxes)
            yield info, _to_numpy(sample.c2am_map)


def search_box_threshold(
    model,
    dataloader,
    thresholds: Sequence[float] = REFERENCE_THRESHOLDS,
    clamp_overlap: bool = True,
) -> Tuple[float, dict]:
    """The threshold with the best CorLoc on a labelled dataloader (the
    reference selects it on the test/validation set; spec 4.1).

    GT boxes are the samples' ``gt_bboxes`` in network-input pixels.

    Returns:
        tuple: the best threshold (the first one on ties) and
        ``{threshold: CorLoc}``.
    """
    maps, gts, sizes = [], [], []
    for info, fmap in predict_c2am_maps(model, dataloader):
        if info.get('gt_bboxes') is None or len(info['gt_bboxes']) == 0:
            raise ValueError(
                f'{info.get("img_path", "a sample")} has no GT '
                f'box; the threshold search needs boxes.'
            )
        maps.append(fmap)
        gts.append(info['gt_bboxes'])
        sizes.append(info['img_shape'][:2])
    curve = corloc_curve(
        maps, gts, sizes, thresholds, clamp_overlap=clamp_overlap
    )
    best = int(np.argmax(curve))
    return float(thresholds[best]), {
        float(t): float(c) for t, c in zip(thresholds, curve)
    }


def extract_pseudo_boxes(
    model,
    dataloader,
    threshold: float,
    resize: Sequence[int] = (480, 480),
    crop_offset: Optional[Sequence[int]] = None,
    relative_to: Optional[str] = None,
    out_file: Optional[str] = None,
) -> Dict[str, List[float]]:
    """One class-agnostic box per image, in the reference JSON format.

    The dataloader should apply the test geometry (resize to ``resize``,
    then a centre crop); each box (largest contour at ``threshold``) is
    stored as ``[x, y, w, h]`` normalised by ``resize``
    (:func:`pseudo_box_xywh`).

    Args:
        model: A :class:`~mmwsl.models.C2AM` model.
        dataloader: The images to box.
        threshold: Relative map threshold.
        resize: ``(W, H)`` of the resize before the crop.
        crop_offset: ``(x, y)`` of the crop; default the centre crop of
            each sample's ``img_shape`` in ``resize``.
        relative_to: Make the keys relative to this folder.
        out_file: Write the boxes there (atomically).

    Returns:
        dict: ``{image key: [x, y, w, h]}``.
    """
    boxes = {}
    for info, fmap in predict_c2am_maps(model, dataloader):
        shape = info['img_shape'][:2]
        box = c2am_boxes(fmap, [threshold], shape)[0][0]
        offset = (
            crop_offset
            if crop_offset is not None
            else _centre_offset(resize, shape)
        )
        key = pseudo_box_key(info['img_path'], relative_to)
        boxes[key] = pseudo_box_xywh(box, resize, offset)
    if out_file is not None:
        save_json_atomic(boxes, out_file)
    return boxes
