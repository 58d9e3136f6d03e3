# Copyright (c) mmwsl contributors. All rights reserved.
"""PASCAL VOC 2012 (+ SBD) with image-level labels, for the CAM stage of
WSSS, in the MMSeg layout::

    VOC2012/
      JPEGImages/<name>.jpg
      Annotations/<name>.xml            (label source 'xml')
      SegmentationClass/<name>.png      1,464 train + 1,449 val, 255 borders
      SegmentationClassAug/<name>.png   10,582 train_aug + val (SBD)
      ImageSets/Segmentation/{train,val,train_aug}.txt
      cls_labels.txt                    (label source 'file', written by
                                         tools/dataset_converters/
                                         prepare_voc12.py)
"""

import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset

from mmwsl.registry import DATASETS

from .wsss_labels import (
    labels_from_label_map,
    read_label_file,
    read_label_map,
    read_split,
)

VOC_CLASSES = (
    'aeroplane',
    'bicycle',
    'bird',
    'boat',
    'bottle',
    'bus',
    'car',
    'cat',
    'chair',
    'cow',
    'diningtable',
    'dog',
    'horse',
    'motorbike',
    'person',
    'pottedplant',
    'sheep',
    'sofa',
    'train',
    'tvmonitor',
)


def labels_from_xml(
    path: str, classes: Sequence[str] = VOC_CLASSES
) -> List[int]:
    """Classes of the objects in a VOC XML annotation (difficult ones
    included, as IRN's label file)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file {path} not found.')
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'Cannot parse {path}: {e}') from None
    index = {c: i for i, c in enumerate(classes)}
    found = set()
    for obj in root.iter('object'):
        name = (obj.findtext('name') or '').strip()
        if name not in index:
            raise ValueError(f'{path}: unknown class {name!r}.')
        found.add(index[name])
    return sorted(found)


@DATASETS.register_module()
class VOC12ClsDataset(BaseDataset):
    """Multi-label PASCAL VOC 2012 (+ SBD) for training CAM classifiers and
    generating pseudo-labels.

    Each sample has ``img_path``, ``gt_label`` (list of 0-based classes of
    the 20 VOC classes) and, when the file exists, ``seg_map_path`` (the
    segmentation GT in ``seg_dir``).

    Args:
        data_root: the ``VOC2012`` folder.
        split: split file ``ImageSets/Segmentation/{split}.txt``
            (``train_aug`` 10,582, ``train`` 1,464, ``val`` 1,449).
        label_source: ``'file'`` (``label_file``), ``'xml'``
            (``Annotations/<name>.xml``) or ``'seg'`` (the classes present
            in ``seg_dir/<name>.png``).
        label_file: label file relative to ``data_root``.
        img_dir: image folder relative to ``data_root``.
        seg_dir: segmentation GT folder relative to ``data_root``.
        pipeline: processing pipeline.
    """

    METAINFO = dict(classes=VOC_CLASSES)

    def __init__(
        self,
        data_root: str = 'data/VOCdevkit/VOC2012',
        split: str = 'train_aug',
        label_source: str = 'file',
        label_file: str = 'cls_labels.txt',
        img_dir: str = 'JPEGImages',
        seg_dir: Optional[str] = 'SegmentationClassAug',
        pipeline: Sequence = (),
        **kwargs,
    ):
        if label_source not in ('file', 'xml', 'seg'):
            raise ValueError(
                f"label_source must be 'file', 'xml' or 'seg', "
                f'not {label_source!r}.'
            )
        self.split = split
        self.label_source = label_source
        self.label_file = label_file
        self.img_dir = img_dir
        self.seg_dir = seg_dir
        super().__init__(
            ann_file=osp.join('ImageSets', 'Segmentation', f'{split}.txt'),
            data_root=data_root,
            pipeline=pipeline,
            **kwargs,
        )

    def _path(self, *parts) -> str:
        return osp.join(self.data_root, *parts)

    def load_data_list(self) -> List[dict]:
        names = read_split(self.ann_file)
        num_classes = len(self.metainfo['classes'])
        if self.label_source == 'file':
            label_path = self._path(self.label_file)
            table = read_label_file(label_path, num_classes)
            missing = [n for n in names if n not in table]
            if missing:
                raise KeyError(
                    f'{len(missing)} images of {self.ann_file} have no entry '
                    f'in {label_path} (first: {missing[0]}). Rebuild it with '
                    f'tools/dataset_converters/prepare_voc12.py.'
                )
        data_list = []
        for name in names:
            seg_path = (
                self._path(self.seg_dir, name + '.png')
                if self.seg_dir
                else None
            )
            if self.label_source == 'file':
                labels = table[name]
            elif self.label_source == 'xml':
                labels = labels_from_xml(
                    self._path('Annotations', name + '.xml'),
                    self.metainfo['classes'],
                )
            else:
                if seg_path is None:
                    raise ValueError("label_source='seg' needs seg_dir.")
                labels = labels_from_label_map(
                    read_label_map(seg_path, 'segmentation GT'),
                    num_classes,
                    seg_path,
                )
            info = dict(
                img_path=self._path(self.img_dir, name + '.jpg'),
                gt_label=labels,
            )
            if seg_path is not None and osp.isfile(seg_path):
                info['seg_map_path'] = seg_path
            data_list.append(info)
        return data_list
