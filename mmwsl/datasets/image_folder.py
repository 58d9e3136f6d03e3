# Copyright (c) mmwsl contributors. All rights reserved.
"""A plain folder of unlabeled images as a dataset."""

import os
import os.path as osp
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path

from mmwsl.registry import DATASETS

IMAGE_EXTENSIONS = (
    '.jpg',
    '.jpeg',
    '.png',
    '.bmp',
    '.ppm',
    '.pgm',
    '.tif',
    '.tiff',
    '.webp',
)


def verify_image(path: str) -> None:
    """Raise ``ValueError`` naming ``path`` unless it decodes as an image."""
    import cv2
    import numpy as np

    try:
        with open(path, 'rb') as f:
            data = np.frombuffer(f.read(), np.uint8)
    except OSError as e:
        raise ValueError(f'Cannot read image file {path}: {e}') from e
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None or img.size == 0:
        raise ValueError(
            f'Cannot decode image file {path}: it is corrupt or '
            f'not an image. Replace or remove it from the '
            f'folder.'
        )


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Unlabeled images from a folder (or a list file), e.g. to train C²AM.

    The images are either every image file of ``data_root/data_prefix``
    (sorted by path; with ``recursive``, also those of its sub-folders) or
    those named by ``ann_file``: a text file with one entry per line, an
    image path relative to the image folder or an id completed with
    ``suffix`` (e.g. the VOC ``train_aug.txt`` ids with ``suffix='.jpg'``);
    only the first whitespace-separated field of a line is read.

    Each sample has ``img_path`` only: no label, box or mask. The loading
    transform (``mmwsl.LoadImageWithCheck``) names any file it cannot
    decode; with ``verify=True`` every file is decoded once up front
    instead, which finds corrupt files before training starts.

    Args:
        data_root: Root folder.
        data_prefix: Image folder, relative to ``data_root`` (a string or
            ``dict(img_path=...)``).
        ann_file: Optional list file, relative to ``data_root``.
        suffix: Appended to every entry of ``ann_file``.
        recursive: Also scan sub-folders.
        extensions: File endings taken as images (case-insensitive).
        skip_non_images: Skip other files in the folder instead of raising
            an error naming them. Hidden files (``.name``) are always
            skipped.
        verify: Decode every image when the dataset is built.
        pipeline: Data pipeline.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    METAINFO = dict(classes=())

    def __init__(
        self,
        data_root: str = '',
        data_prefix: Union[str, dict] = '',
        ann_file: str = '',
        suffix: str = '',
        recursive: bool = False,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        skip_non_images: bool = False,
        verify: bool = False,
        pipeline: Sequence = (),
        **kwargs,
    ):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.suffix = suffix
        self.recursive = recursive
        self.extensions = tuple(e.lower() for e in extensions)
        self.skip_non_images = skip_non_images
        self.verify = verify
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            **kwargs,
        )

    @property
    def img_dir(self) -> str:
        return self.data_prefix['img_path']

    def _scan(self) -> List[str]:
        folder = self.img_dir
        if not osp.isdir(folder):
            raise FileNotFoundError(f'Image folder {folder} not found.')
        paths, others = [], []
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
            for name in sorted(files):
                if name.startswith('.'):
                    continue
                path = osp.join(root, name)
                if name.lower().endswith(self.extensions):
                    paths.append(path)
                else:
                    others.append(path)
            if not self.recursive:
                break
        if others and not self.skip_non_images:
            shown = ', '.join(others[:5])
            more = f' (and {len(others) - 5} more)' if len(others) > 5 else ''
            raise ValueError(
                f'The image folder {folder} holds files that are not images '
                f'(endings {self.extensions}): {shown}{more}. Remove them, '
                f'or set skip_non_images=True to ignore them.'
            )
        return sorted(paths)

    def _read_list(self) -> List[str]:
        with get_local_path(self.ann_file) as local:
            if not osp.isfile(local):
                raise FileNotFoundError(
                    f'Image list {self.ann_file} not found.'
                )
            with open(local) as f:
                lines = [line.split() for line in f]
        paths = []
        for number, fields in enumerate(lines, 1):
            if not fields:
                continue
            name = fields[0] + self.suffix
            path = osp.join(self.img_dir, name)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'Image {path} (line {number} of {self.ann_file}) not '
                    f'found.'
                )
            paths.append(path)
        return paths

    def load_data_list(self) -> List[dict]:
        paths = self._read_list() if self.ann_file else self._scan()
        if not paths:
            source = self.ann_file or self.img_dir
            raise ValueError(f'No images found in {source}.')
        if self.verify:
            for path in paths:
                verify_image(path)
        return [dict(img_path=path) for path in paths]

    def get_cat_ids(self, idx: int) -> List[int]:
        """Unlabeled: no categories."""
        return []
