# Copyright (c) mmwsl contributors. All rights reserved.
"""Mean-fill erasure transform (spec T5) and image-level label loading."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmpretrain.models import ClsDataPreprocessor

from mmwsl.datasets.transforms import (
    ApplyAdversarialErasure,
    LoadImageLevelLabels,
    LoadImageWithCheck,
)

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def _write(tmp_path, img_shape=(6, 7)):
    img = np.full(img_shape + (3, ), 200, np.uint8)
    img_path = str(tmp_path / 'img_0001.png')
    cv2.imwrite(img_path, img)
    erase_dir = tmp_path / 'erase'
    erase_dir.mkdir()
    mask = np.zeros(img_shape, np.uint8)
    mask[1:3, 2:5] = 1
    cv2.imwrite(str(erase_dir / 'img_0001.png'), mask)
    return img_path, str(erase_dir), mask.astype(bool)


def test_t5_erased_pixels_are_zero_after_normalisation(tmp_path):
    img_path, erase_dir, mask = _write(tmp_path)
    results = LoadImageWithCheck()(dict(img_path=img_path))
    results = ApplyAdversarialErasure(erase_dir, MEAN, to_rgb=True)(results)
    img = results['img']
    assert img.dtype == np.float32
    # BGR image: fill is the RGB mean reversed
    assert img[1, 2].tolist() == pytest.approx(list(MEAN[::-1]))
    pre = ClsDataPreprocessor(mean=MEAN, std=STD, to_rgb=True)
    x = pre(dict(inputs=[torch.from_numpy(img).permute(2, 0, 1)]),
            False)['inputs'][0]
    erased = x[:, torch.from_numpy(mask)]
    assert torch.equal(erased, torch.zeros_like(erased))
    kept = x[:, 0, 0]
    assert kept.tolist() == pytest.approx([1.3070, 1.4657, 1.6814],
                                          abs=1e-4)
    assert int((x.abs().sum(0) == 0).sum()) == int(mask.sum())


def test_round_one_passes_through_as_float(tmp_path):
    img_path, _, _ = _write(tmp_path)
    results = LoadImageWithCheck()(dict(img_path=img_path))
    out = ApplyAdversarialErasure(None)(dict(results))
    assert out['img'].dtype == np.float32
    assert (out['img'] == 200).all()


def test_missing_or_wrong_size_mask_names_the_file(tmp_path):
    img_path, erase_dir, _ = _write(tmp_path)
    results = LoadImageWithCheck()(dict(img_path=img_path))
    with pytest.raises(FileNotFoundError, match='other.png'):
        ApplyAdversarialErasure(erase_dir)(
            dict(results, img_path=str(tmp_path / 'other.png')))
    cv2.imwrite(osp.join(erase_dir, 'img_0001.png'),
                np.zeros((5, 7), np.uint8))
    with pytest.raises(ValueError, match=r'img_0001\.png.*size'):
        ApplyAdversarialErasure(erase_dir)(results)


def test_load_image_level_labels(tmp_path):
    path = tmp_path / 'image_labels.json'
    path.write_text(json.dumps({'a': [3, 1], 'b': []}))
    t = LoadImageLevelLabels(str(path), num_classes=4)
    assert t(dict(img_path='x/a.jpg'))['img_labels'] == [1, 3]
    assert t(dict(img_path='b.png'))['img_labels'] == []
    with pytest.raises(KeyError, match='c'):
        t(dict(img_path='c.png'))
    path.write_text(json.dumps({'a': [4]}))
    with pytest.raises(ValueError, match='outside'):
        LoadImageLevelLabels(str(path), num_classes=4)(
            dict(img_path='a.png'))
