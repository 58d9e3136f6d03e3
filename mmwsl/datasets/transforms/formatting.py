# Copyright (c) mmwsl contributors. All rights reserved.
"""Packing of WSOL samples into mmpretrain ``DataSample``s."""
import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from mmwsl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSOLInputs(PackInputs):
    """Pack a WSOL sample: ``inputs`` plus a ``DataSample`` holding

    - ``gt_label`` (and ``gt_score`` when multi-hot labels are given),
    - ``gt_bboxes``: float32 tensor N×4, xyxy, in the coordinates of the
      network input after all transforms (inclusive pixel corners),
    - ``gt_mask``: uint8 tensor H×W (1 object, 0 background, 255 ignore),
      packed from ``gt_seg_map`` when a mask was loaded,

    and the meta keys of mmpretrain's ``PackInputs`` (``img_path``,
    ``ori_shape``, ``img_shape``, ``scale_factor``, ``flip`` …) plus
    ``img_id`` (the wsolevaluation image id, when the dataset gives one).
    """

    DEFAULT_META_KEYS = PackInputs.DEFAULT_META_KEYS + ('img_id', )

    def __init__(self, meta_keys=DEFAULT_META_KEYS, **kwargs):
        super().__init__(meta_keys=meta_keys, **kwargs)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        sample = packed['data_samples']
        if 'gt_bboxes' in results:
            boxes = np.asarray(results['gt_bboxes'], dtype=np.float32)
            sample.set_field(torch.from_numpy(boxes.reshape(-1, 4)),
                             'gt_bboxes', field_type='data')
        if 'gt_seg_map' in results:
            mask = np.ascontiguousarray(results['gt_seg_map'], np.uint8)
            sample.set_field(torch.from_numpy(mask), 'gt_mask',
                             field_type='data')
        return packed
