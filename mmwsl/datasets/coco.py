# Copyright (c) mmwsl contributors. All rights reserved.
"""COCO 2014 for WSSS: image-level labels from the instance annotations and
segmentation ground truth rendered from them.

Layout (``data/coco``)::

    train2014/COCO_train2014_<12 digits>.jpg
    val2014/COCO_val2014_<12 digits>.jpg
    annotations/instances_{train,val}2014.json
    cls_labels_{train,val}2014.txt          written by
    SegmentationClass/{train,val}2014/*.png tools/dataset_converters/
                                            prepare_coco14.py

The 80 categories keep COCO's ascending id order: class ``c`` (0-based) is
label ``c + 1`` of the 81-class maps (``specs/metrics.md`` 6.3). The maps are
rendered as HFPL does: instances in annotation order, later ones painted over
earlier ones, crowd regions painted with their class, no ignore label.
"""

import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmseg.datasets import BaseSegDataset

from mmwsl.registry import DATASETS

from .wsss_labels import read_label_file

COCO_CLASSES = (
    'person',
    'bicycle',
    'car',
    'motorcycle',
    'airplane',
    'bus',
    'train',
    'truck',
    'boat',
    'traffic light',
    'fire hydrant',
    'stop sign',
    'parking meter',
    'bench',
    'bird',
    'cat',
    'dog',
    'horse',
    'sheep',
    'cow',
    'elephant',
    'bear',
    'zebra',
    'giraffe',
    'backpack',
    'umbrella',
    'handbag',
    'tie',
    'suitcase',
    'frisbee',
    'skis',
    'snowboard',
    'sports ball',
    'kite',
    'baseball bat',
    'baseball glove',
    'skateboard',
    'surfboard',
    'tennis racket',
    'bottle',
    'wine glass',
    'cup',
    'fork',
    'knife',
    'spoon',
    'bowl',
    'banana',
    'apple',
    'sandwich',
    'orange',
    'broccoli',
    'carrot',
    'hot dog',
    'pizza',
    'donut',
    'cake',
    'chair',
    'couch',
    'potted plant',
    'bed',
    'dining table',
    'toilet',
    'tv',
    'laptop',
    'mouse',
    'remote',
    'keyboard',
    'cell phone',
    'microwave',
    'oven',
    'toaster',
    'sink',
    'refrigerator',
    'book',
    'clock',
    'vase',
    'scissors',
    'teddy bear',
    'hair drier',
    'toothbrush',
)


def load_instances(path: str) -> dict:
    """Read an ``instances_*.json`` file with a clear error."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'COCO annotation file {path} not found.')
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError as e:
            raise ValueError(f'{path} is not valid JSON: {e}') from None
    for key in ('images', 'annotations', 'categories'):
        if key not in data:
            raise ValueError(
                f'{path} has no "{key}" entry; is it an instances_*.json file?'
            )
    return data


def category_index(categories: Sequence[dict]) -> Dict[int, int]:
    """COCO category id -> 0-based class in ascending id order."""
    return {
        c['id']: i
        for i, c in enumerate(sorted(categories, key=lambda c: c['id']))
    }


def image_labels(data: dict) -> Dict[int, List[int]]:
    """``{image id: sorted 0-based classes}`` (crowd annotations count)."""
    index = category_index(data['categories'])
    labels = {img['id']: set() for img in data['images']}
    for ann in data['annotations']:
        if ann['category_id'] not in index:
            raise ValueError(
                f'annotation {ann.get("id")} has unknown '
                f'category_id {ann["category_id"]}.'
            )
        labels.setdefault(ann['image_id'], set()).add(
            index[ann['category_id']]
        )
    return {k: sorted(v) for k, v in labels.items()}


def rle_decode(rle: dict) -> np.ndarray:
    """Decode a COCO RLE (``counts`` as a list or a compressed string) to an
    ``(h, w)`` uint8 mask."""
    h, w = rle['size']
    counts = rle['counts']
    if isinstance(counts, (str, bytes)):
        counts = _rle_string_to_counts(
            counts.decode() if isinstance(counts, bytes) else counts
        )
    flat = np.zeros(h * w, np.uint8)
    pos, value = 0, 0
    for run in counts:
        if value:
            flat[pos : pos + run] = 1
        pos += run
        value ^= 1
    if pos != h * w:
        raise ValueError(f'RLE covers {pos} pixels, expected {h * w}.')
    return flat.reshape(w, h).T  # column-major


def _rle_string_to_counts(s: str) -> List[int]:
    """COCO's compressed RLE string: 5-bit groups with a continuation bit,
    sign-extended, counts after the second stored as differences."""
    counts, i = [], 0
    while i < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def render_label_map(
    height: int, width: int, anns: Sequence[dict], index: Dict[int, int]
) -> np.ndarray:
    """81-class ``(h, w)`` uint8 map of one image's instances (HFPL style:
    annotation order, later instances overwrite earlier ones, crowd regions
    painted, no ignore)."""
    out = np.zeros((height, width), np.uint8)
    for ann in anns:
        value = index[ann['category_id']] + 1
        seg = ann.get('segmentation')
        if isinstance(seg, list):
            polys = [
                np.round(np.asarray(p, np.float64).reshape(-1, 2)).astype(
                    np.int32
                )
                for p in seg
                if len(p) >= 6
            ]
            if polys:
                cv2.fillPoly(out, polys, int(value))
        elif isinstance(seg, dict):
            mask = rle_decode(seg)
            if mask.shape != out.shape:
                raise ValueError(
                    f'annotation {ann.get("id")}: RLE size '
                    f'{mask.shape} differs from the image '
                    f'{out.shape}.'
                )
            out[mask > 0] = value
    return out


@DATASETS.register_module()
class COCO14ClsDataset(BaseDataset):
    """Multi-label COCO 2014 (80 classes) for CAM classifiers and
    pseudo-labels.

    Each sample has ``img_path``, ``gt_label`` (list of 0-based classes)
    and, when the converter has rendered it, ``seg_map_path``.

    Args:
        data_root: the COCO folder.
        split: ``'train2014'`` or ``'val2014'``.
        label_file: label file relative to ``data_root``; when it does not
            exist the labels are read from ``annotations/instances_{split}
            .json`` (slow for train2014).
        seg_dir: rendered GT folder relative to ``data_root``.
        filter_empty: drop images without any annotated object (BAS's
            val list keeps 40,137 of the 40,504 val2014 images).
        pipeline: processing pipeline.
    """

    METAINFO = dict(classes=COCO_CLASSES)

    def __init__(
        self,
        data_root: str = 'data/coco',
        split: str = 'train2014',
        label_file: Optional[str] = None,
        seg_dir: Optional[str] = None,
        filter_empty: bool = True,
        pipeline: Sequence = (),
        **kwargs,
    ):
        self.split = split
        self.label_file = label_file or f'cls_labels_{split}.txt'
        self.seg_dir = (
            seg_dir
            if seg_dir is not None
            else osp.join('SegmentationClass', split)
        )
        self.filter_empty = filter_empty
        super().__init__(
            ann_file='', data_root=data_root, pipeline=pipeline, **kwargs
        )

    def _entries(self) -> List[Tuple[str, List[int]]]:
        """(image file name, labels) in a stable order."""
        label_path = osp.join(self.data_root, self.label_file)
        if osp.isfile(label_path):
            table = read_label_file(label_path, len(COCO_CLASSES))
            return [(name + '.jpg', labels) for name, labels in table.items()]
        data = load_instances(
            osp.join(
                self.data_root, 'annotations', f'instances_{self.split}.json'
            )
        )
        labels = image_labels(data)
        images = sorted(data['images'], key=lambda im: im['file_name'])
        return [(im['file_name'], labels[im['id']]) for im in images]

    def load_data_list(self) -> List[dict]:
        data_list = []
        for file_name, labels in self._entries():
            if self.filter_empty and not labels:
                continue
            stem = osp.splitext(file_name)[0]
            info = dict(
                img_path=osp.join(self.data_root, self.split, file_name),
                gt_label=labels,
            )
            seg = osp.join(self.data_root, self.seg_dir, stem + '.png')
            if osp.isfile(seg):
                info['seg_map_path'] = seg
            data_list.append(info)
        if not data_list:
            raise ValueError(
                f'No labelled images in COCO split {self.split} '
                f'under {self.data_root}.'
            )
        return data_list


@DATASETS.register_module()
class COCO14SegDataset(BaseSegDataset):
    """COCO 2014 semantic segmentation from rendered instance masks (0 =
    background, ``c + 1`` = class c): MMSeg training on pseudo-labels and
    evaluation with ``IoUMetric``. Give ``data_prefix`` (``img_path``,
    ``seg_map_path``) and optionally an ``ann_file`` of image names."""

    METAINFO = dict(classes=('background',) + COCO_CLASSES)

    def __init__(
        self,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        reduce_zero_label: bool = False,
        **kwargs,
    ):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
