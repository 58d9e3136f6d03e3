# Copyright (c) mmwsl contributors. All rights reserved.
"""Loading transforms that fail with the file name on unreadable input."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmengine import fileio

from mmwsl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageWithCheck(MMCVLoadImageFromFile):
    """Load ``results['img_path']`` like mmcv's ``LoadImageFromFile``, but
    raise a clear ``ValueError`` naming the file when it is missing, corrupt
    or not an image, instead of an assertion from deep inside mmcv.

    Added keys: ``img`` (H×W×3 uint8, BGR), ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename,
                                   backend_args=self.file_client_args
                                   or self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'Image file not found: {filename} (listed in the '
                f'dataset annotations)') from e
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type,
                               backend=self.imdecode_backend)
        if img is None or img.size == 0:
            raise ValueError(f'Cannot decode image file {filename}: it is '
                             f'corrupt or not an image. Replace or remove it '
                             f'from the dataset annotations.')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadWSOLMask(BaseTransform):
    """Load the object mask of a WSOL sample into ``gt_seg_map``.

    Reads ``results['mask_path']`` (a PNG, or a list of per-instance PNGs
    that are OR-ed; 0 = background, non-zero = object) and, when present,
    ``results['ignore_path']`` (non-zero = ignore). The result is an H×W
    uint8 map with 1 = object, 0 = background, 255 = ignore, where object
    pixels win over the ignore region (wsolevaluation: ignore = ignore box
    AND NOT object). It is stored as ``gt_seg_map`` so that the geometric
    transforms move it with the image. A mask whose size differs from its
    image's is resized to it with nearest-neighbour interpolation (as
    wsolevaluation resizes masks on their own). Samples without
    ``mask_path`` are passed through.
    """

    def _read(self, path: str, img_shape: tuple) -> np.ndarray:
        try:
            data = fileio.get(path)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'Mask file not found: {path}') from e
        mask = mmcv.imfrombytes(data, flag='unchanged', backend='cv2')
        if mask is None:
            raise ValueError(f'Cannot decode mask file {path}: it is corrupt '
                             f'or not an image.')
        if mask.ndim == 3:
            mask = mask[..., 0]
        if mask.shape[:2] != tuple(img_shape):
            mask = mmcv.imresize(mask, (img_shape[1], img_shape[0]),
                                 interpolation='nearest')
        return mask > 0

    def transform(self, results: dict) -> dict:
        mask_paths = results.get('mask_path')
        if mask_paths is None:
            return results
        if isinstance(mask_paths, str):
            mask_paths = [mask_paths]
        shape = results['img'].shape[:2]
        fg = np.zeros(shape, bool)
        for path in mask_paths:
            fg |= self._read(path, shape)
        mask = fg.astype(np.uint8)
        ignore_path = results.get('ignore_path')
        if ignore_path:
            mask[self._read(ignore_path, shape) & ~fg] = 255
        results['gt_seg_map'] = mask
        return results
