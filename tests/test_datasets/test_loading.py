# Copyright (c) mmwsl contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmwsl.datasets.transforms import (
    LoadImageWithCheck,
    LoadWSOLMask,
    PackWSOLInputs,
)


def _write(path, array):
    assert cv2.imwrite(str(path), array)
    return str(path)


def test_mask_union_and_ignore(tmp_path):
    img = np.zeros((6, 8, 3), np.uint8)
    a = np.zeros((6, 8), np.uint8)
    a[1:3, 1:3] = 255
    b = np.zeros((6, 8), np.uint8)
    b[3:5, 5:7] = 1
    ignore = np.zeros((6, 8), np.uint8)
    ignore[0:4, 0:4] = 255  # overlaps instance a
    results = dict(img=img, mask_path=[_write(tmp_path / 'a.png', a),
                                       _write(tmp_path / 'b.png', b)],
                   ignore_path=_write(tmp_path / 'i.png', ignore))
    mask = LoadWSOLMask()(results)['gt_seg_map']
    expected = np.zeros((6, 8), np.uint8)
    expected[0:4, 0:4] = 255
    expected[1:3, 1:3] = 1  # object pixels win over the ignore region
    expected[3:5, 5:7] = 1
    np.testing.assert_array_equal(mask, expected)


def test_mask_of_other_size_is_resized(tmp_path):
    mask = np.zeros((3, 4), np.uint8)
    mask[:, 2:] = 255
    results = dict(img=np.zeros((6, 8, 3), np.uint8),
                   mask_path=_write(tmp_path / 'm.png', mask))
    out = LoadWSOLMask()(results)['gt_seg_map']
    assert out.shape == (6, 8)
    assert out[:, 4:].all() and not out[:, :4].any()


def test_unreadable_files(tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'garbage')
    with pytest.raises(ValueError, match=f'Cannot decode image file {bad}'):
        LoadImageWithCheck()(dict(img_path=str(bad)))
    with pytest.raises(FileNotFoundError, match='Image file not found'):
        LoadImageWithCheck()(dict(img_path=str(tmp_path / 'none.png')))
    with pytest.raises(ValueError, match=f'Cannot decode mask file {bad}'):
        LoadWSOLMask()(dict(img=np.zeros((2, 2, 3), np.uint8),
                            mask_path=str(bad)))


def test_pack_wsol_inputs():
    results = dict(img=np.zeros((4, 5, 3), np.uint8), gt_label=2,
                   gt_bboxes=np.array([[0, 1, 3, 2]], np.float32),
                   gt_seg_map=np.ones((4, 5), np.uint8), img_id='x/1.jpg',
                   img_path='x/1.jpg', img_shape=(4, 5), ori_shape=(4, 5))
    packed = PackWSOLInputs()(results)
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 4, 5)
    assert sample.gt_bboxes.dtype.is_floating_point
    assert sample.gt_bboxes.tolist() == [[0, 1, 3, 2]]
    assert sample.gt_mask.shape == (4, 5) and int(sample.gt_label) == 2
    assert sample.img_id == 'x/1.jpg'
