# Copyright (c) mmwsl contributors. All rights reserved.
"""CUB, ILSVRC and OpenImages30k in the wsolevaluation metadata layout."""

import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine import fileio
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import CUB_CATEGORIES, IMAGENET_CATEGORIES

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

WSOLEVAL_URL = 'https://github.com/clovaai/wsolevaluation'

#: Datasets of the wsolevaluation benchmark: number of classes, kind of
#: localization annotation and default class names.
WSOLEVAL_DATASETS = {
    'CUB': dict(num_classes=200, annotation='bbox', classes=CUB_CATEGORIES),
    'ILSVRC': dict(
        num_classes=1000, annotation='bbox', classes=IMAGENET_CATEGORIES
    ),
    'OpenImages': dict(num_classes=100, annotation='mask', classes=None),
}

#: Split names (and the names the wsolevaluation paper uses for them) ->
#: metadata folder.
WSOLEVAL_SPLITS = {
    'train': 'train',
    'train-weaksup': 'train',
    'val': 'val',
    'train-fullsup': 'val',
    'test': 'test',
}

IMAGE_IDS_FILE = 'image_ids.txt'
LABELS_FILE = 'class_labels.txt'
SIZES_FILE = 'image_sizes.txt'
LOCALIZATION_FILE = 'localization.txt'


def load_wsoleval_annotations(
    metadata_dir: str,
    img_prefix: str,
    annotation: str,
    problems: DatasetProblems,
    num_classes: int,
    mask_prefix: Optional[str] = None,
    image_ids_file: str = IMAGE_IDS_FILE,
    require_localization: bool = True,
    check_files: bool = True,
    verify_sizes: bool = False,
) -> List[dict]:
    """Read and cross-check one split of the wsolevaluation metadata.

    ``metadata_dir`` holds (comma-separated, one record per line; see
    wsolevaluation's ``metadata/<DATASET>/<split>/``)::

        image_ids.txt     <image_id>                    (defines the order)
        class_labels.txt  <image_id>,<0-based label>
        image_sizes.txt   <image_id>,<W>,<H>            (may be empty)
        localization.txt  <image_id>,<x0>,<y0>,<x1>,<y1>  one line per box
                      or  <image_id>,<mask png>,<ignore png>  per mask; only
                          the first line of an image may name an ignore png

    Image ids are paths relative to ``img_prefix``; mask paths are relative
    to ``mask_prefix``. Boxes are inclusive pixel corners in the original
    image and must satisfy ``0 <= x0 <= x1 <= W - 1`` (and likewise for y).

    Args:
        metadata_dir (str): The split's metadata folder.
        img_prefix (str): Folder the image ids are relative to.
        annotation (str): ``'bbox'`` or ``'mask'`` (format of
            ``localization.txt``).
        problems (DatasetProblems): Where problems are recorded; nothing is
            raised here.
        num_classes (int): Labels must lie in ``[0, num_classes)``.
        mask_prefix (str, optional): Folder the mask paths are relative to.
            Defaults to ``img_prefix``.
        image_ids_file (str): The image list, e.g. ``'image_ids_proxy.txt'``
            for the proxy ILSVRC training subset.
        require_localization (bool): Whether ``localization.txt`` (and, for
            boxes, ``image_sizes.txt``) must exist and cover every image.
            Training splits may have none.
        check_files (bool): Check that every image (and mask) file exists.
        verify_sizes (bool): Read every image header and compare its size to
            ``image_sizes.txt`` (slow on large datasets).

    Returns:
        list[dict]: One dict per image id, in ``image_ids.txt`` order, with
        ``img_path``, ``img_id``, ``gt_label``, ``gt_bboxes`` (float32 N×4,
        N = 0 without boxes), ``ori_size`` (``(W, H)``, when listed) and for
        masks ``mask_path`` (str, or list of str for several instances) and
        ``ignore_path`` (when given).
    """
    join = fileio.join_path
    mask_prefix = img_prefix if mask_prefix is None else mask_prefix
    path = {
        name: join(metadata_dir, name)
        for name in (
            image_ids_file,
            LABELS_FILE,
            SIZES_FILE,
            LOCALIZATION_FILE,
        )
    }
    required = [image_ids_file, LABELS_FILE]
    if require_localization:
        required += [SIZES_FILE, LOCALIZATION_FILE]
    missing = [n for n in required if not fileio.exists(path[n])]
    if missing:
        found = (
            f'missing {", ".join(missing)}'
            if fileio.exists(metadata_dir)
            else 'the folder does not exist'
        )
        problems.add(
            f'wsolevaluation metadata not found at {metadata_dir}: expected '
            f'{", ".join(required)} there ({found}). '
            f'Copy the metadata/ folder of {WSOLEVAL_URL} (it holds '
            'metadata/<CUB|ILSVRC|OpenImages>/<train|val|test>/) and point '
            'metadata_root at it, or convert the CUB archive with '
            'tools/dataset_converters/cub_to_wsoleval.py.',
            missing=True,
        )
        return []
    if check_files and not fileio.exists(img_prefix):
        problems.add(
            f'image folder not found: {img_prefix}. Download the images as '
            f'described in {WSOLEVAL_URL} and set data_prefix.img_path to '
            'the folder the image ids of '
            f'{path[image_ids_file]} are relative to.',
            missing=True,
        )
        return []

    ids_path = path[image_ids_file]
    id_records = index_records(
        read_records(ids_path, 1, problems), ids_path, problems
    )
    image_ids = list(id_records)
    # A custom image list (e.g. the proxy ILSVRC list) may be a subset of
    # the images the other files describe.
    subset = image_ids_file != IMAGE_IDS_FILE

    labels = index_records(
        read_records(path[LABELS_FILE], 2, problems, sep=','),
        path[LABELS_FILE],
        problems,
    )
    compare_keys(
        image_ids,
        ids_path,
        list(labels),
        path[LABELS_FILE],
        problems,
        allow_extra=subset,
    )

    sizes: Dict[str, tuple] = {}
    size_index = index_records(
        read_records(path[SIZES_FILE], 3, problems, sep=',', optional=True),
        path[SIZES_FILE],
        problems,
    )
    for key, (lineno, (_, w, h)) in size_index.items():
        wh = [
            parse_number(
                v,
                int,
                f'{name} of {key!r}',
                path[SIZES_FILE],
                lineno,
                problems,
            )
            for v, name in ((w, 'width'), (h, 'height'))
        ]
        if None in wh:
            continue
        if min(wh) <= 0:
            problems.add(
                f'size of {key!r} must be positive, got {w}x{h}',
                path[SIZES_FILE],
                lineno,
            )
            continue
        sizes[key] = tuple(wh)
    need_sizes = annotation == 'bbox' and require_localization
    if size_index or need_sizes:
        compare_keys(
            image_ids,
            ids_path,
            list(size_index),
            path[SIZES_FILE],
            problems,
            allow_extra=subset,
        )

    num_fields = 5 if annotation == 'bbox' else 3
    loc_path = path[LOCALIZATION_FILE]
    localization: Dict[str, list] = OrderedDict()
    for lineno, fields in read_records(
        loc_path, num_fields, problems, sep=',', optional=True
    ):
        localization.setdefault(fields[0], []).append((lineno, fields[1:]))
    if localization or require_localization:
        compare_keys(
            image_ids,
            ids_path,
            list(localization),
            loc_path,
            problems,
            allow_extra=subset,
        )

    data_list = []
    for img_id in image_ids:
        ids_line = id_records[img_id][0]
        what = f'image {img_id!r}'
        info = dict(
            img_path=join(img_prefix, img_id),
            img_id=img_id,
            gt_bboxes=np.zeros((0, 4), dtype=np.float32),
        )
        ok = True
        if img_id in labels:
            lineno, (_, label_str) = labels[img_id]
            label = parse_number(
                label_str,
                int,
                f'label of {what}',
                path[LABELS_FILE],
                lineno,
                problems,
            )
            if label is not None and not 0 <= label < num_classes:
                problems.add(
                    f'label of {what} is {label}, outside [0, '
                    f'{num_classes - 1}]',
                    path[LABELS_FILE],
                    lineno,
                )
                label = None
            ok = label is not None
            info['gt_label'] = label
        else:
            ok = False
        size = sizes.get(img_id)
        if size is not None:
            info['ori_size'] = size
        if check_files:
            real_size = check_image(
                info['img_path'],
                f'{ids_path}:{ids_line}',
                problems,
                verify_sizes,
            )
            if (
                real_size is not None
                and size is not None
                and tuple(real_size) != size
            ):
                problems.add(
                    f'{what} is {real_size[0]}x{real_size[1]} (WxH) but '
                    f'{path[SIZES_FILE]} lists {size[0]}x{size[1]}',
                    path[SIZES_FILE],
                    size_index[img_id][0],
                )
        entries = localization.get(img_id, [])
        if annotation == 'bbox':
            boxes = []
            for lineno, coords in entries:
                box = [
                    parse_number(
                        v,
                        int,
                        f'{name} of the box of {what}',
                        loc_path,
                        lineno,
                        problems,
                    )
                    for v, name in zip(coords, ('x0', 'y0', 'x1', 'y1'))
                ]
                if None in box:
                    ok = False
                elif check_box(box, size, what, loc_path, lineno, problems):
                    boxes.append(box)
                else:
                    ok = False
            if boxes:
                info['gt_bboxes'] = np.array(boxes, dtype=np.float32)
        elif entries:
            masks = []
            for k, (lineno, (mask, ignore)) in enumerate(entries):
                if not mask:
                    problems.add(
                        f'empty mask path for {what}', loc_path, lineno
                    )
                    ok = False
                    continue
                masks.append(join(mask_prefix, mask))
                if k == 0 and ignore:
                    info['ignore_path'] = join(mask_prefix, ignore)
                elif k > 0 and ignore:
                    problems.add(
                        f'only the first line of {what} may name an ignore '
                        f'mask (line {entries[0][0]}), this one names '
                        f'{ignore!r}',
                        loc_path,
                        lineno,
                    )
                    ok = False
            if check_files:
                for mask_file in masks + [info.get('ignore_path')]:
                    if mask_file and not fileio.exists(mask_file):
                        problems.add(
                            f'mask file not found: {mask_file} (for {what} '
                            f'in {loc_path})',
                            missing=True,
                        )
            if masks:
                info['mask_path'] = masks[0] if len(masks) == 1 else masks
        if ok:
            data_list.append(info)
    return data_list


def _class_dirs(data_list: Sequence[dict], num_classes: int) -> tuple:
    """Class names from image ids ``<split>/<class dir>/<file>``; labels that
    do not occur (or whose images lie in several folders) get ``'class_<k>'``.
    """
    names: Dict[int, set] = {}
    for info in data_list:
        parts = info['img_id'].split('/')
        if len(parts) >= 3:
            names.setdefault(info['gt_label'], set()).add(parts[-2])
    return tuple(
        next(iter(names[k])) if len(names.get(k, ())) == 1 else f'class_{k}'
        for k in range(num_classes)
    )


@DATASETS.register_module()
class WSOLEvalDataset(BaseDataset):
    """A split of CUB, ILSVRC or OpenImages30k in wsolevaluation's layout.

    Reads ``<data_root>/<metadata_root>/<dataset_name>/<split>/`` (see
    :func:`load_wsoleval_annotations` for the files) with images under
    ``<data_root>/<data_prefix.img_path>/<image_id>``. The defaults follow a
    wsolevaluation checkout: ``metadata/`` next to ``dataset/<dataset_name>/``
    holding the images (and, for OpenImages, the masks).

    - CUB and ILSVRC carry boxes (ILSVRC often several per image) as
      ``gt_bboxes`` (float32 N×4, inclusive corners, original pixels).
    - OpenImages carries instance masks and an ignore mask per image as
      ``mask_path`` (a str, or a list of str when the image has several
      instances; the masks are OR-ed) and ``ignore_path``, for
      :class:`~mmwsl.datasets.transforms.LoadWSOLMask`.

    Every sample also has ``img_id`` (the wsolevaluation image id, used to
    name saved score maps) and ``ori_size`` (``(W, H)``, where listed). All
    metadata files are cross-checked when the dataset is loaded and every
    problem is reported with its file and line.

    Args:
        dataset_name (str): ``'CUB'``, ``'ILSVRC'`` or ``'OpenImages'``.
        split (str): ``'train'`` (alias ``'train-weaksup'``), ``'val'``
            (alias ``'train-fullsup'``: the small fully annotated split for
            hyperparameter search) or ``'test'``. Defaults to ``'test'``.
        data_root (str): Root joined to ``metadata_root`` and
            ``data_prefix``. Defaults to ``''``.
        metadata_root (str): Folder holding ``<dataset_name>/<split>/``.
            Defaults to ``'metadata'``.
        data_prefix (str | dict, optional): ``img_path`` (folder the image ids
            are relative to) and ``mask_path`` (folder the mask paths are
            relative to; defaults to ``img_path``). Defaults to
            ``dict(img_path='dataset/<dataset_name>')``.
        image_ids_file (str): Image list inside the split folder, e.g.
            ``'image_ids_proxy.txt'`` for the proxy ILSVRC training subset.
            Defaults to ``'image_ids.txt'``.
        check_files (bool): Check at load time that every listed image and
            mask exists. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``test_mode``, ``metainfo``, ``classes`` …).
            Without given class names, CUB and ILSVRC use mmpretrain's names
            and OpenImages the class folders of its image ids.

    Examples:
        >>> from mmwsl.datasets import WSOLEvalDataset
        >>> ds = WSOLEvalDataset('ILSVRC', split='test',
        ...                      data_root='wsolevaluation')
        >>> ds.get_data_info(1)['gt_bboxes']     # two boxes
        array([[ 45.,  49., 499., 162.],
               [  2.,  69., 437., 207.]], dtype=float32)
    """

    def __init__(
        self,
        dataset_name: str,
        split: str = 'test',
        data_root: str = '',
        metadata_root: str = 'metadata',
        data_prefix: Union[str, dict, None] = None,
        image_ids_file: str = IMAGE_IDS_FILE,
        check_files: bool = True,
        **kwargs,
    ) -> None:
        if dataset_name not in WSOLEVAL_DATASETS:
            raise ValueError(
                f'dataset_name must be one of {list(WSOLEVAL_DATASETS)}, '
                f'got {dataset_name!r}'
            )
        if split not in WSOLEVAL_SPLITS:
            raise ValueError(
                f'split must be one of {list(WSOLEVAL_SPLITS)}, got {split!r}'
            )
        self.dataset_name = dataset_name
        self.split = WSOLEVAL_SPLITS[split]
        self.image_ids_file = image_ids_file
        self.check_files = check_files
        spec = WSOLEVAL_DATASETS[dataset_name]
        self.annotation = spec['annotation']

        if data_prefix is None:
            data_prefix = dict(img_path=osp.join('dataset', dataset_name))
        elif isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        data_prefix = dict(data_prefix)
        data_prefix.setdefault('mask_path', data_prefix['img_path'])

        metainfo = dict(kwargs.pop('metainfo', None) or {})
        self._derive_classes = False
        if kwargs.get('classes') is None and 'classes' not in metainfo:
            if spec['classes'] is not None:
                metainfo['classes'] = spec['classes']
            else:
                self._derive_classes = True
        super().__init__(
            ann_file=osp.join(metadata_root, dataset_name, self.split),
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs,
        )

    @property
    def num_classes(self) -> int:
        """Number of classes: of the given class names, else the
        dataset's."""
        classes = self._metainfo.get('classes')
        if classes:
            return len(classes)
        return WSOLEVAL_DATASETS[self.dataset_name]['num_classes']

    def load_data_list(self) -> List[dict]:
        """Read and check the split's metadata."""
        problems = DatasetProblems(
            f'{self.dataset_name} ({self.split} split, wsolevaluation '
            f'layout) at {self.ann_file}'
        )
        num_classes = self.num_classes
        data_list = load_wsoleval_annotations(
            self.ann_file,
            self.data_prefix['img_path'],
            self.annotation,
            problems,
            num_classes=num_classes,
            mask_prefix=self.data_prefix['mask_path'],
            image_ids_file=self.image_ids_file,
            require_localization=self.split != 'train',
            check_files=self.check_files,
        )
        problems.raise_if_any()
        if self._derive_classes:
            self._metainfo['classes'] = _class_dirs(data_list, num_classes)
        return data_list

    def extra_repr(self) -> List[str]:
        return [
            f'Dataset: \t{self.dataset_name} ({self.split} split)',
            f'Metadata: \t{self.ann_file}',
            f'Prefix of images: \t{self.img_prefix}',
        ]
