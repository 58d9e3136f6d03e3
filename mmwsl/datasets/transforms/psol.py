# Copyright (c) mmwsl contributors. All rights reserved.
"""Transforms of the PSOL box regressor (spec section 4.3).

Boxes here are continuous ``(x0, y0, x1, y1)`` pixel edges (a box covering
columns 0..9 is ``(0, 10)``), as the reference PSOL code treats them, kept
in ``results['psol_box']``; :class:`PackPSOLTarget` turns the final box into
the regression target ``[x, y, w, h]`` normalised by the network input.
"""

import math
import random
from typing import Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmwsl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadPseudoBox(BaseTransform):
    """Pseudo box ``[x, y, w, h]`` (fractions of the image) -> pixels.

    ``x0 = ceil(x * W)``, ``x1 = ceil((x + w) * W)`` (likewise for y), as
    the reference PSOL loaders compute them.

    Required keys: ``img``, ``pseudo_box``. Added keys: ``psol_box``.
    """

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        x, y, w, h = (float(v) for v in results['pseudo_box'])
        results['psol_box'] = np.array(
            [
                math.ceil(x * width),
                math.ceil(y * height),
                math.ceil((x + w) * width),
                math.ceil((y + h) * height),
            ],
            dtype=np.float64,
        )
        return results


def _intersect(box: np.ndarray, window: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = window
    return np.array(
        [max(box[0], x0), max(box[1], y0), min(box[2], x1), min(box[3], y1)]
    )


@TRANSFORMS.register_module()
class RandomResizedBoxCrop(BaseTransform):
    """A random resized crop that keeps part of the pseudo box.

    Draws crops like torchvision's ``RandomResizedCrop`` (area fraction in
    ``scale``, aspect ratio in ``ratio``, log-uniform) until one overlaps
    the box with a positive area (at most ``max_attempts``); otherwise it
    takes the central crop of torchvision's fallback. The crop is resized
    (bilinear) to ``size`` and the box becomes its intersection with the
    crop, in the resized crop's pixels.

    Required keys: ``img``, ``psol_box``. Modified keys: ``img``,
    ``img_shape``, ``psol_box``.

    Args:
        size: Output side (int) or ``(h, w)``.
        scale: Range of the crop area as a fraction of the image.
        ratio: Range of the aspect ratio.
        max_attempts: Crops drawn before the fallback.
    """

    def __init__(
        self,
        size=224,
        scale: Tuple[float, float] = (0.2, 1.0),
        ratio: Tuple[float, float] = (3 / 4, 4 / 3),
        max_attempts: int = 30,
    ):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale = scale
        self.ratio = ratio
        self.max_attempts = max_attempts

    def _window(self, height: int, width: int, box: np.ndarray):
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(self.max_attempts):
            target = area * random.uniform(*self.scale)
            aspect = math.exp(random.uniform(*log_ratio))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = random.randint(0, height - h)
                left = random.randint(0, width - w)
                inter = _intersect(box, (left, top, left + w, top + h))
                if inter[2] > inter[0] and inter[3] > inter[1]:
                    return left, top, w, h
        # Fallback: the largest central crop within the ratio range.
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def transform(self, results: dict) -> dict:
        img = results['img']
        box = np.asarray(results['psol_box'], np.float64)
        height, width = img.shape[:2]
        left, top, w, h = self._window(height, width, box)
        crop = img[top : top + h, left : left + w]
        out_h, out_w = self.size
        results['img'] = mmcv.imresize(
            crop, (out_w, out_h), interpolation='bilinear'
        )
        results['img_shape'] = results['img'].shape[:2]
        inter = _intersect(box, (left, top, left + w, top + h))
        inter = inter - np.array([left, top, left, top], np.float64)
        inter = np.maximum(inter, 0)
        inter[2:] = np.maximum(inter[2:], inter[:2])
        results['psol_box'] = inter * np.array(
            [out_w / w, out_h / h, out_w / w, out_h / h]
        )
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(size={self.size}, '
            f'scale={self.scale}, ratio={self.ratio})'
        )


@TRANSFORMS.register_module()
class PSOLRandomFlip(BaseTransform):
    """Horizontal flip of the image and the continuous box
    (``x -> W - x``) with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if random.random() < self.prob:
            width = results['img'].shape[1]
            results['img'] = mmcv.imflip(results['img'], 'horizontal')
            box = np.asarray(results['psol_box'], np.float64).copy()
            box[[0, 2]] = width - box[[2, 0]]
            results['psol_box'] = box
        return results


@TRANSFORMS.register_module()
class PackPSOLTarget(BaseTransform):
    """``psol_target`` = ``[x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H]``
    of ``psol_box`` in the current image (float32), for
    ``PackWSOLInputs(algorithm_keys=('psol_target', ))``."""

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        x0, y0, x1, y1 = (float(v) for v in results['psol_box'])
        results['psol_target'] = np.array(
            [x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height],
            dtype=np.float32,
        )
        return results
