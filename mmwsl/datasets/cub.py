# Copyright (c) mmwsl contributors. All rights reserved.
"""CUB-200-2011 with bounding boxes (and optional masks) for WSOL."""

import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine import fileio
from mmpretrain.datasets import CUB

from mmwsl.registry import DATASETS

from .wsol_annotations import (
    DatasetProblems,
    check_box,
    check_image,
    compare_keys,
    index_records,
    parse_number,
    read_records,
)

CUB_URL = 'https://www.vision.caltech.edu/datasets/cub_200_2011/'

IMAGES_FILE = 'images.txt'
LABELS_FILE = 'image_class_labels.txt'
SPLIT_FILE = 'train_test_split.txt'
BOXES_FILE = 'bounding_boxes.txt'
IMAGES_DIR = 'images/'
MASKS_DIR = 'segmentations/'


def load_cub_annotations(
    data_root: str,
    split: str,
    problems: DatasetProblems,
    num_classes: int = 200,
    with_mask: bool = False,
) -> List[dict]:
    """Read the WSOL annotations of one split of the official CUB archive.

    Expected layout (``CUB_200_2011.tgz`` extracted, plus
    ``segmentations.tgz`` extracted into the same folder for masks)::

        data_root/
            images.txt              <image id> <class dir>/<file>.jpg
            image_class_labels.txt  <image id> <class id, 1-based>
            train_test_split.txt    <image id> <1: train, 0: test>
            bounding_boxes.txt      <image id> <x> <y> <width> <height>
            images/<class dir>/<file>.jpg
            segmentations/<class dir>/<file>.png    (only with_mask=True)

    Boxes are converted to inclusive corners as wsolevaluation's metadata
    does: ``(x, y, min(x + w, W - 1), min(y + h, H - 1))`` with the image
    size ``W x H`` read from the image header (the raw values of the file are
    kept otherwise, so integer boxes stay integers). A box that starts outside
    the image or has a negative size is a problem.

    Args:
        data_root (str): The ``CUB_200_2011`` folder.
        split (str): ``'train'`` or ``'test'``.
        problems (DatasetProblems): Where problems are recorded; nothing is
            raised here.
        num_classes (int): Number of classes; class ids must lie in
            ``[1, num_classes]``.
        with_mask (bool): Also list the segmentation masks (``mask_path``).

    Returns:
        list[dict]: One dict per image of the split, in ``images.txt`` order,
        with ``img_path``, ``img_id`` (path relative to ``images/``, as the
        wsolevaluation image id), ``gt_label`` (0-based), ``gt_bboxes``
        (float32 1×4, inclusive corners, original pixels), ``ori_size``
        (``(W, H)``) and, with ``with_mask``, ``mask_path``.
    """
    join = fileio.join_path
    required = [IMAGES_FILE, LABELS_FILE, SPLIT_FILE, BOXES_FILE, IMAGES_DIR]
    if with_mask:
        required.append(MASKS_DIR)
    missing = [
        name for name in required if not fileio.exists(join(data_root, name))
    ]
    if missing:
        found = (
            f'missing {", ".join(missing)}'
            if fileio.exists(data_root)
            else 'the folder does not exist'
        )
        problems.add(
            f'CUB-200-2011 not found at {data_root}: expected '
            f'{", ".join(required)} there ({found}). '
            f'Download CUB_200_2011.tgz from {CUB_URL} and extract it so that '
            f'{join(data_root, IMAGES_FILE)} exists'
            + (
                '; for masks also extract segmentations.tgz (same page) in '
                f'{data_root} so that {join(data_root, MASKS_DIR)} exists.'
                if with_mask
                else '.'
            ),
            missing=True,
        )
        return []

    paths = {name: join(data_root, name) for name in required[:4]}
    images = index_records(
        read_records(paths[IMAGES_FILE], 2, problems),
        paths[IMAGES_FILE],
        problems,
    )
    others = {}
    for name, num_fields in (
        (LABELS_FILE, 2),
        (SPLIT_FILE, 2),
        (BOXES_FILE, 5),
    ):
        others[name] = index_records(
            read_records(paths[name], num_fields, problems),
            paths[name],
            problems,
        )
        compare_keys(
            list(images),
            paths[IMAGES_FILE],
            list(others[name]),
            paths[name],
            problems,
        )

    wanted = '1' if split == 'train' else '0'
    data_list = []
    for img_key, (img_line, (_, rel_path)) in images.items():
        if any(img_key not in others[name] for name in others):
            continue  # already recorded by compare_keys
        split_line, (_, flag) = others[SPLIT_FILE][img_key]
        if flag not in ('0', '1'):
            problems.add(
                f'split flag of image {img_key} must be 1 (train) or 0 '
                f'(test), got {flag!r}',
                paths[SPLIT_FILE],
                split_line,
            )
            continue
        if flag != wanted:
            continue
        what = f'image {img_key} ({rel_path})'

        label_line, (_, label_str) = others[LABELS_FILE][img_key]
        label = parse_number(
            label_str,
            int,
            f'class id of {what}',
            paths[LABELS_FILE],
            label_line,
            problems,
        )
        if label is not None and not 1 <= label <= num_classes:
            problems.add(
                f'class id of {what} is {label}, outside [1, {num_classes}]',
                paths[LABELS_FILE],
                label_line,
            )
            label = None

        box_line, box_fields = others[BOXES_FILE][img_key]
        xywh = [
            parse_number(
                v,
                float,
                f'{name} of the box of {what}',
                paths[BOXES_FILE],
                box_line,
                problems,
            )
            for v, name in zip(box_fields[1:], 'xywh')
        ]

        img_path = join(data_root, IMAGES_DIR, rel_path)
        size = check_image(
            img_path,
            f'{paths[IMAGES_FILE]}:{img_line}',
            problems,
            read_size=True,
        )

        mask_path = None
        if with_mask:
            mask_path = join(
                data_root, MASKS_DIR, osp.splitext(rel_path)[0] + '.png'
            )
            if not fileio.exists(mask_path):
                problems.add(
                    f'mask file not found: {mask_path} (for {what} listed '
                    f'in {paths[IMAGES_FILE]}:{img_line})',
                    missing=True,
                )

        if label is None or size is None or None in xywh:
            continue
        x, y, w, h = xywh
        width, height = size
        if w < 0 or h < 0:
            problems.add(
                f'box of {what} has a negative size: w={w:g}, h={h:g}',
                paths[BOXES_FILE],
                box_line,
            )
            continue
        if x > width - 1 or y > height - 1:
            problems.add(
                f'box of {what} starts outside the {width}x{height} (WxH) '
                f'image: x={x:g}, y={y:g}',
                paths[BOXES_FILE],
                box_line,
            )
            continue
        box = [x, y, min(x + w, width - 1), min(y + h, height - 1)]
        if not check_box(
            box, size, what, paths[BOXES_FILE], box_line, problems
        ):
            continue
        info = dict(
            img_path=img_path,
            img_id=rel_path,
            gt_label=label - 1,
            gt_bboxes=np.array([box], dtype=np.float32),
            ori_size=(width, height),
        )
        if mask_path is not None:
            info['mask_path'] = mask_path
        data_list.append(info)
    return data_list


@DATASETS.register_module()
class CUBWSOLDataset(CUB):
    """CUB-200-2011 for WSOL, read from the official archive layout.

    mmpretrain's :class:`~mmpretrain.datasets.CUB` with the bounding boxes of
    ``bounding_boxes.txt`` and, optionally, the segmentation masks (for PxAP).
    The layout, the box conversion and the per-sample keys are those of
    :func:`load_cub_annotations`. Image ids, their order and the converted
    boxes of the test split are those of wsolevaluation's
    ``metadata/CUB/test``; the 1000-image ``val`` (train-fullsup) split of
    wsolevaluation uses other images and is read with
    :class:`~mmwsl.datasets.WSOLEvalDataset`.

    All annotation files are cross-checked when the dataset is loaded; every
    problem (missing dataset folder, image file or mask, inconsistent line
    counts, class id out of range, box outside the image …) is reported with
    its file and line in one ``FileNotFoundError`` / ``ValueError``.

    Args:
        data_root (str): The ``CUB_200_2011`` folder.
        split (str): ``'train'`` (5994 images) or ``'test'`` (5794 images).
            Defaults to ``'train'``.
        test_mode (bool): As in mmengine's ``BaseDataset``. Defaults to False.
        with_mask (bool): Add ``mask_path`` (``segmentations/*.png``; any
            non-zero pixel is object when loaded by
            :class:`~mmwsl.datasets.transforms.LoadWSOLMask`).
            Defaults to False.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``indices``, ``lazy_init`` …).

    Examples:
        >>> from mmwsl.datasets import CUBWSOLDataset
        >>> ds = CUBWSOLDataset('data/CUB_200_2011', split='test')
        >>> ds[0]['gt_bboxes']            # without a pipeline
        array([[ 60.,  27., 385., 331.]], dtype=float32)
    """

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        test_mode: bool = False,
        with_mask: bool = False,
        **kwargs,
    ) -> None:
        self.with_mask = with_mask
        super().__init__(
            data_root=data_root, split=split, test_mode=test_mode, **kwargs
        )

    def load_data_list(self) -> List[dict]:
        """Read and check the annotations of ``self.split``."""
        problems = DatasetProblems(
            f'CUB-200-2011 ({self.split} split) at {self.data_root}'
        )
        classes: Optional[tuple] = self.metainfo.get('classes')
        data_list = load_cub_annotations(
            self.data_root,
            self.split,
            problems,
            num_classes=len(classes) if classes else 200,
            with_mask=self.with_mask,
        )
        problems.raise_if_any()
        return data_list

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'With masks: \t{self.with_mask}')
        return body
