# Copyright (c) mmwsl contributors. All rights reserved.
"""Training images with class-agnostic pseudo boxes (the PSOL stage)."""

import copy
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from mmwsl.registry import DATASETS


def _key(path: str, relative_to: Optional[str]) -> str:
    key = path if relative_to is None else osp.relpath(path, relative_to)
    while '//' in key:
        key = key.replace('//', '/')
    return key


@DATASETS.register_module()
class PseudoBoxDataset(BaseDataset):
    """Wrap a dataset and attach a pseudo box to every image.

    The boxes come from ``tools/c2am_pseudo_boxes.py``: a JSON object (or a
    folder of them, as the reference writes one per batch) mapping an image
    path to ``[x, y, w, h]`` normalised by the image width and height. Each
    sample of the wrapped dataset gets ``pseudo_box`` (those four numbers);
    ``mmwsl.LoadPseudoBox`` turns it into pixels once the image is loaded.
    Other fields (``gt_label``, real ``gt_bboxes``) are kept but not used
    by the regressor.

    Args:
        dataset: Config (or instance) of the wrapped dataset; its samples
            need ``img_path``.
        pseudo_boxes: JSON file or folder of JSON files.
        relative_to: Look images up by their path relative to this folder
            (use the folder given to the export tool's ``--relative-to``).
        pipeline: Data pipeline.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    def __init__(
        self,
        dataset: Union[dict, BaseDataset],
        pseudo_boxes: str,
        relative_to: Optional[str] = None,
        pipeline: Sequence = (),
        **kwargs,
    ):
        if isinstance(dataset, dict):
            dataset = copy.deepcopy(dataset)
            dataset['pipeline'] = []
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.pseudo_boxes = pseudo_boxes
        self.relative_to = relative_to
        kwargs.setdefault('metainfo', dict(dataset.metainfo))
        super().__init__(pipeline=pipeline, **kwargs)

    def load_data_list(self) -> list:
        from mmwsl.apis.c2am_wsol import load_pseudo_boxes

        boxes = load_pseudo_boxes(self.pseudo_boxes)
        data_list = []
        missing = []
        for i in range(len(self.dataset)):
            info = copy.deepcopy(self.dataset.get_data_info(i))
            key = _key(info['img_path'], self.relative_to)
            if key not in boxes:
                missing.append(key)
                continue
            info['pseudo_box'] = boxes[key]
            data_list.append(info)
        if missing:
            more = (
                f' (and {len(missing) - 3} more)' if len(missing) > 3 else ''
            )
            raise KeyError(
                f'{len(missing)} images have no pseudo box in '
                f'{self.pseudo_boxes}, e.g. {missing[:3]}{more}; check '
                f'relative_to (the keys look like '
                f'{next(iter(boxes), None)!r}).'
            )
        return data_list
