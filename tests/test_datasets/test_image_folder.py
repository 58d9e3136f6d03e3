# Copyright (c) mmwsl contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest

from mmwsl.datasets import ImageFolderDataset
from mmwsl.registry import DATASETS

PIPELINE = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmwsl.WSOLResize', scale=(32, 16)),
    dict(type='mmwsl.WSOLRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsl.PackWSOLInputs'),
]


def _write_images(folder, names, size=(20, 30)):
    rng = np.random.default_rng(0)
    for name in names:
        path = osp.join(folder, name)
        img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        assert cv2.imwrite(path, img)


def test_folder_scan_and_pipeline(tmp_path):
    _write_images(str(tmp_path), ['b.png', 'a.jpg', 'c.JPEG'])
    (tmp_path / '.hidden').write_text('x')
    sub = tmp_path / 'sub'
    sub.mkdir()
    _write_images(str(sub), ['d.png'])
    dataset = DATASETS.build(
        dict(
            type='ImageFolderDataset',
            data_root=str(tmp_path),
            pipeline=PIPELINE,
        )
    )
    names = [
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]
    assert names == ['a.jpg', 'b.png', 'c.JPEG']
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 16, 32)
    assert 'gt_label' not in sample['data_samples']
    assert sample['data_samples'].img_path.endswith('a.jpg')

    recursive = ImageFolderDataset(data_root=str(tmp_path), recursive=True)
    assert len(recursive) == 4


def test_list_file_with_suffix(tmp_path):
    images = tmp_path / 'JPEGImages'
    images.mkdir()
    _write_images(str(images), ['2007_000032.jpg', '2007_000039.jpg'])
    (tmp_path / 'train.txt').write_text('2007_000039\n\n2007_000032 extra\n')
    dataset = ImageFolderDataset(
        data_root=str(tmp_path),
        data_prefix='JPEGImages',
        ann_file='train.txt',
        suffix='.jpg',
    )
    assert [
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ] == ['2007_000039.jpg', '2007_000032.jpg']
    (tmp_path / 'bad.txt').write_text('2007_000032\nmissing\n')
    with pytest.raises(FileNotFoundError, match='line 2 of .*bad.txt'):
        ImageFolderDataset(
            data_root=str(tmp_path),
            data_prefix='JPEGImages',
            ann_file='bad.txt',
            suffix='.jpg',
        )


def test_non_image_file_is_named(tmp_path):
    _write_images(str(tmp_path), ['a.png'])
    (tmp_path / 'notes.txt').write_text('not an image')
    with pytest.raises(ValueError, match='notes.txt'):
        ImageFolderDataset(data_root=str(tmp_path))
    dataset = ImageFolderDataset(data_root=str(tmp_path), skip_non_images=True)
    assert len(dataset) == 1


def test_corrupt_image_is_named(tmp_path):
    _write_images(str(tmp_path), ['a.png'])
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8\xff garbage')
    with pytest.raises(ValueError, match='broken.jpg'):
        ImageFolderDataset(data_root=str(tmp_path), verify=True)
    # Without verification, the loading transform names the file.
    dataset = ImageFolderDataset(data_root=str(tmp_path), pipeline=PIPELINE)
    dataset[0]
    with pytest.raises(ValueError, match='broken.jpg'):
        dataset.prepare_data(1)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(ValueError, match='No images'):
        ImageFolderDataset(data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='not found'):
        ImageFolderDataset(data_root=str(tmp_path / 'nope'))
