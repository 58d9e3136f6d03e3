# Copyright (c) mmwsl contributors. All rights reserved.
import hashlib
import os.path as osp

import cv2
import numpy as np
import pytest

from mmwsl.datasets import SyntheticWSOLDataset, SyntheticWSSSDataset
from mmwsl.datasets.synthetic import generate_synthetic_dataset

SMALL = dict(num_classes=3, num_samples=dict(train=9, test=4), image_size=64)


def _digest(root):
    h = hashlib.sha256()
    for split in ('train', 'test'):
        for i in range(SMALL['num_samples'][split]):
            for kind in ('images', 'masks'):
                with open(osp.join(root, kind, split, f'{i:05d}.png'),
                          'rb') as f:
                    h.update(f.read())
    return h.hexdigest()


def test_generation_is_deterministic(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate_synthetic_dataset(a, seed=3, **SMALL)
    generate_synthetic_dataset(b, seed=3, **SMALL)
    assert _digest(a) == _digest(b)
    c = str(tmp_path / 'c')
    generate_synthetic_dataset(c, seed=4, **SMALL)
    assert _digest(a) != _digest(c)


def test_wsol_samples_match_their_masks(tmp_path):
    ds = SyntheticWSOLDataset(data_root=str(tmp_path / 'syn'), split='train',
                              **SMALL)
    assert len(ds) == 9
    assert list(ds.metainfo['classes']) == ['class0', 'class1', 'class2']
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert sorted(set(labels)) == [0, 1, 2]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        mask = cv2.imread(info['mask_path'], cv2.IMREAD_UNCHANGED) > 0
        img = cv2.imread(info['img_path'])
        assert img.shape == (64, 64, 3) and mask.shape == (64, 64)
        ys, xs = np.nonzero(mask)
        # The box covers the whole object, with inclusive corners.
        np.testing.assert_array_equal(
            info['gt_bboxes'], [[xs.min(), ys.min(), xs.max(), ys.max()]])
        # The object is large: its box covers a good part of the image.
        assert mask.sum() > 0.08 * 64 * 64


def test_discriminative_part_is_small(tmp_path):
    ds = SyntheticWSOLDataset(data_root=str(tmp_path / 's'), **SMALL)
    ratios = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        (x0, y0, x1, y1), = info['gt_bboxes']
        (p0, q0, p1, q1), = info['part_bboxes']
        assert x0 <= p0 <= p1 <= x1 and y0 <= q0 <= q1 <= y1
        ratios.append((p1 - p0 + 1) * (q1 - q0 + 1) / ((x1 - x0 + 1) *
                                                      (y1 - y0 + 1)))
    # A box around the part alone fails the IoU >= 0.5 criterion.
    assert max(ratios) < 0.35


def test_other_settings_in_same_folder_are_refused(tmp_path):
    root = str(tmp_path / 'syn')
    generate_synthetic_dataset(root, seed=0, **SMALL)
    with pytest.raises(ValueError, match='generated with other settings'):
        generate_synthetic_dataset(root, seed=1, **SMALL)


def test_missing_dataset_without_generation(tmp_path):
    with pytest.raises(FileNotFoundError, match='meta.json missing'):
        SyntheticWSOLDataset(data_root=str(tmp_path / 'none'),
                             generate=False)


def test_missing_split(tmp_path):
    with pytest.raises(FileNotFoundError, match='no split "val"'):
        SyntheticWSOLDataset(data_root=str(tmp_path / 'syn'), split='val',
                             **SMALL)


def test_wsss_variant(tmp_path):
    ds = SyntheticWSSSDataset(data_root=str(tmp_path / 'wsss'),
                              split='train', **SMALL)
    multi = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        seg = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
        present = sorted(int(v) - 1 for v in np.unique(seg) if v > 0)
        assert present == info['gt_label']
        assert len(info['gt_bboxes']) == len(info['gt_label'])
        multi += len(present) > 1
    assert multi > 0
