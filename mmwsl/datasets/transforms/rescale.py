# Copyright (c) mmwsl contributors. All rights reserved.
"""Random rescaling of an image by a factor of its own size."""

from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmwsl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image (and ``gt_seg_map``) by a uniform random factor.

    IRN's ``random_scale`` (``specs/bas.md`` 5.3, rescale (0.5, 1.5)): the
    new size is ``round(size * s)`` with ``s ~ U(ratio_range)``; the image
    is resized bicubically, the label map with nearest neighbour. Unlike
    mmcv's ``RandomResize`` the factor is relative to the image itself, not
    to a target scale.

    Required keys: ``img``; optional ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_seg_map``; added:
    ``scale_factor``.

    Args:
        ratio_range: ``(low, high)`` scale factors.
    """

    def __init__(self, ratio_range: Sequence[float] = (0.5, 1.5)):
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(
                f'ratio_range must satisfy 0 < low <= high, got '
                f'{tuple(ratio_range)}.'
            )
        self.ratio_range = (float(low), float(high))

    def transform(self, results: dict) -> dict:
        scale = float(np.random.uniform(*self.ratio_range))
        img = results['img']
        h, w = img.shape[:2]
        size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        results['img'] = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = cv2.resize(
                results['gt_seg_map'], size, interpolation=cv2.INTER_NEAREST
            )
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / w, size[1] / h)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ratio_range={self.ratio_range})'
