# Copyright (c) mmwsl contributors. All rights reserved.
"""Box-aware geometric transforms: exact protocol arithmetic (metrics spec
section 5.3) and agreement of boxes, masks and pixels."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from mmwsl.datasets.transforms import (
    WSOLCenterCrop,
    WSOLRandomCrop,
    WSOLRandomFlip,
    WSOLRandomResizedCrop,
    WSOLResize,
    crop_boxes,
    flip_boxes,
    resize_boxes,
)
from mmwsl.registry import TRANSFORMS

from wsol_builders import box_of, write_image  # isort: skip


def _painted(h, w, boxes):
    """A mask with each inclusive box painted 1."""
    seg = np.zeros((h, w), np.uint8)
    for x0, y0, x1, y1 in np.asarray(boxes, int):
        seg[y0 : y1 + 1, x0 : x1 + 1] = 1
    return seg


def _coord_image(h, w):
    """Pixels encode their own (x, y) + 1, so a crop reveals its offset."""
    ys, xs = np.mgrid[:h, :w]
    return np.stack([xs + 1, ys + 1, np.zeros_like(xs)], -1).astype(np.uint8)


def test_resize_boxes_wsolevaluation_cases():
    # WE:evaluation_test.py resize_bbox_case and resize_bbox_degenerate.
    out = resize_boxes(np.array([[1, 2, 4, 3]]), (10, 20), (35, 10))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[3, 1, 14, 1]])
    out = resize_boxes(np.array([[1, 2, 1, 2]]), (3, 3), (3, 3))
    np.testing.assert_array_equal(out, [[1, 2, 1, 2]])
    # x * 224 / W is formed before dividing: 55 * 224 / 110 is exactly 112,
    # while 55 * (224 / 110) is 111.99999999999999.
    out = resize_boxes(np.array([[55, 0, 55, 0]]), (110, 10), (224, 224))
    np.testing.assert_array_equal(out, [[112, 0, 112, 0]])
    # Empty box arrays pass through with the right shape.
    assert resize_boxes(np.zeros((0, 4)), (5, 5), (7, 7)).shape == (0, 4)


def test_bas_resize_and_center_crop_equals_reference_rule():
    """Resize (256, 256) + centre crop 224 reproduces
    x0' = int(max(x0 * 256 / W - 16, 0)), x1' = int(min(x1 * 256 / W - 16,
    223)) for every box that overlaps the crop (10000 random boxes)."""
    rng = np.random.default_rng(0)
    n = 10000
    w = rng.integers(16, 1200, n)
    h = rng.integers(16, 1200, n)
    xs = np.sort(rng.integers(0, w[:, None], (n, 2)), axis=1)
    ys = np.sort(rng.integers(0, h[:, None], (n, 2)), axis=1)
    boxes = np.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], 1)

    size = np.stack([w, h, w, h], 1).astype(np.float64)
    scaled = boxes / size * 256 - 16
    ref = scaled.copy()
    ref[:, :2] = np.maximum(ref[:, :2], 0)
    ref[:, 2:] = np.minimum(ref[:, 2:], 223)
    ref = np.trunc(ref)  # Python's int() truncates toward zero
    overlaps = (scaled[:, :2] < 224).all(1) & (scaled[:, 2:] > -1).all(1)
    assert overlaps.mean() > 0.95

    ours = np.concatenate(
        [
            crop_boxes(
                resize_boxes(boxes[i : i + 1], (w[i], h[i]), (256, 256)),
                (16, 16),
                (224, 224),
            )
            for i in range(n)
        ]
    )
    np.testing.assert_array_equal(ours[overlaps], ref[overlaps])
    # Boxes entirely in the cut-off margin collapse onto the border.
    assert (ours >= 0).all() and (ours <= 223).all()
    assert (ours[:, 2:] >= ours[:, :2]).all()


def test_wsoleval_resize_equals_reference_rule():
    rng = np.random.default_rng(1)
    for _ in range(200):
        w, h = rng.integers(2, 1500, 2)
        x0, x1 = np.sort(rng.integers(0, w, 2))
        y0, y1 = np.sort(rng.integers(0, h, 2))
        ref = [
            int(x0 * 224 / w),
            int(y0 * 224 / h),
            int(x1 * 224 / w),
            int(y1 * 224 / h),
        ]
        out = resize_boxes(np.array([[x0, y0, x1, y1]]), (w, h), (224, 224))
        assert out[0].tolist() == ref


def test_flip_boxes_inclusive_corners():
    box = np.array([[2, 3, 5, 7]])
    np.testing.assert_array_equal(
        flip_boxes(box, (10, 12), 'horizontal'), [[4, 3, 7, 7]]
    )
    np.testing.assert_array_equal(
        flip_boxes(box, (10, 12), 'vertical'), [[2, 4, 5, 8]]
    )
    np.testing.assert_array_equal(
        flip_boxes(box, (10, 12), 'diagonal'), [[4, 4, 7, 8]]
    )
    with pytest.raises(ValueError, match='direction'):
        flip_boxes(box, (10, 12), 'sideways')


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_random_flip_moves_box_with_pixels(direction):
    boxes = np.array([[2, 3, 5, 7], [0, 0, 9, 0]], np.float32)
    seg = _painted(12, 10, boxes[:1])
    results = dict(
        img=np.zeros((12, 10, 3), np.uint8), gt_bboxes=boxes, gt_seg_map=seg
    )
    out = WSOLRandomFlip(prob=1.0, direction=direction)(results)
    assert out['flip'] and out['flip_direction'] == direction
    assert box_of(out['gt_seg_map']) == out['gt_bboxes'][0].tolist()
    expected = flip_boxes(boxes, (10, 12), direction)
    np.testing.assert_array_equal(out['gt_bboxes'], expected)


def test_center_crop_clips_cut_boxes():
    # 300x260 (WxH) -> 224: offsets round(76 / 2) = 38, round(36 / 2) = 18.
    boxes = np.array(
        [[10, 5, 100, 250], [50, 30, 60, 40], [0, 0, 20, 10]], np.float32
    )
    seg = _painted(260, 300, boxes[1:2])
    results = dict(img=_coord_image(260, 300), gt_bboxes=boxes, gt_seg_map=seg)
    out = WSOLCenterCrop(crop_size=224)(results)
    assert out['img'].shape == (224, 224, 3)
    assert tuple(out['img'][0, 0, :2]) == (39, 19)  # pixel (38, 18)
    np.testing.assert_array_equal(
        out['gt_bboxes'],
        [
            [0, 0, 62, 223],  # cut at the left, top and bottom
            [12, 12, 22, 22],  # inside: shifted
            [0, 0, 0, 0],  # entirely cut off: collapsed on the corner
        ],
    )
    assert box_of(out['gt_seg_map']) == [12, 12, 22, 22]


def test_resize_keep_ratio_and_mask():
    boxes = np.array([[10, 10, 99, 49]], np.float32)
    seg = _painted(50, 100, boxes)
    results = dict(
        img=np.zeros((50, 100, 3), np.uint8), gt_bboxes=boxes, gt_seg_map=seg
    )
    out = WSOLResize(scale=(200, 100), keep_ratio=True)(results)
    assert out['img'].shape[:2] == (100, 200)
    np.testing.assert_array_equal(out['gt_bboxes'], [[20, 20, 198, 98]])
    assert out['gt_seg_map'].shape == (100, 200)
    # Doubling with nearest neighbour: the mask covers whole source pixels.
    assert box_of(out['gt_seg_map']) == [20, 20, 199, 99]


def test_resize_mask_uses_opencv_nearest_with_pillow_images():
    seg = np.zeros((448, 448), np.uint8)
    seg[60:200, 100:300] = 1
    seg[300:, :] = 255
    results = dict(img=np.zeros((448, 448, 3), np.uint8), gt_seg_map=seg)
    out = WSOLResize(scale=(224, 224), backend='pillow')(results)
    expected = np.zeros((224, 224), np.uint8)
    expected[30:100, 50:150] = 1
    expected[150:, :] = 255
    np.testing.assert_array_equal(out['gt_seg_map'], expected)


def test_random_crop_follows_the_window():
    boxes = np.array([[5, 5, 40, 30], [60, 2, 79, 50]], np.float32)
    img = _coord_image(60, 80)
    t = WSOLRandomCrop(crop_size=(32, 48))  # (h, w)
    for seed in range(5):
        np.random.seed(seed)
        off_h, off_w, th, tw = t.rand_crop_params(img)
        np.random.seed(seed)
        out = t(
            dict(
                img=img.copy(),
                gt_bboxes=boxes.copy(),
                gt_seg_map=_painted(60, 80, boxes[:1]),
            )
        )
        assert out['img'].shape[:2] == (32, 48) == (th, tw)
        assert tuple(out['img'][0, 0, :2]) == (off_w + 1, off_h + 1)
        expected = boxes - [off_w, off_h, off_w, off_h]
        expected[:, 0::2] = expected[:, 0::2].clip(0, 47)
        expected[:, 1::2] = expected[:, 1::2].clip(0, 31)
        np.testing.assert_array_equal(out['gt_bboxes'], expected)
        assert box_of(out['gt_seg_map']) == expected[0].tolist()


def test_random_crop_padding_shifts_boxes_and_pads_mask_with_ignore():
    boxes = np.array([[1, 2, 5, 6]], np.float32)
    results = dict(
        img=np.ones((10, 20, 3), np.uint8),
        gt_bboxes=boxes,
        gt_seg_map=_painted(10, 20, boxes),
    )
    out = WSOLRandomCrop(crop_size=(18, 28), padding=4)(results)
    np.testing.assert_array_equal(out['gt_bboxes'], [[5, 6, 9, 10]])
    assert out['gt_seg_map'][0, 0] == 255
    assert box_of(out['gt_seg_map'] == 1) == [5, 6, 9, 10]

    results = dict(
        img=np.ones((10, 20, 3), np.uint8),
        gt_bboxes=boxes.copy(),
        gt_seg_map=_painted(10, 20, boxes),
    )
    # pad_if_needed: ceil((16 - 10) / 2) = 3 rows, ceil((24 - 20) / 2) = 2
    # columns on each side; the crop is then the whole padded image.
    out = WSOLRandomCrop(crop_size=(16, 24), pad_if_needed=True)(results)
    assert out['img'].shape[:2] == (16, 24)
    np.testing.assert_array_equal(out['gt_bboxes'], [[3, 5, 7, 9]])
    assert box_of(out['gt_seg_map'] == 1) == [3, 5, 7, 9]


def test_random_resized_crop_crops_then_resizes_boxes():
    boxes = np.array([[10, 20, 70, 50], [0, 0, 99, 79]], np.float32)
    img = _coord_image(80, 100)
    t = WSOLRandomResizedCrop(scale=(40, 56))  # (h, w)
    for seed in range(5):
        np.random.seed(seed)
        off_h, off_w, th, tw = t.rand_crop_params(img)
        np.random.seed(seed)
        seg = _painted(80, 100, boxes[:1])
        out = t(dict(img=img.copy(), gt_bboxes=boxes.copy(), gt_seg_map=seg))
        assert out['img'].shape[:2] == (40, 56)
        assert out['gt_seg_map'].shape == (40, 56)
        cropped = boxes - [off_w, off_h, off_w, off_h]
        cropped[:, 0::2] = cropped[:, 0::2].clip(0, tw - 1)
        cropped[:, 1::2] = cropped[:, 1::2].clip(0, th - 1)
        expected = np.floor(cropped * [56, 40, 56, 40] / [tw, th, tw, th])
        expected[:, 0::2] = expected[:, 0::2].clip(0, 55)
        expected[:, 1::2] = expected[:, 1::2].clip(0, 39)
        np.testing.assert_array_equal(out['gt_bboxes'], expected)


def test_registered_under_mmwsl_scope():
    for name in (
        'WSOLResize',
        'WSOLCenterCrop',
        'WSOLRandomFlip',
        'WSOLRandomCrop',
        'WSOLRandomResizedCrop',
    ):
        assert TRANSFORMS.get(f'mmwsl.{name}') is not None
    # From another default scope the prefixed name still resolves.
    t = TRANSFORMS.build(dict(type='mmwsl.WSOLResize', scale=(8, 8)))
    assert isinstance(t, WSOLResize)


def test_pipeline_on_an_image_file_step_by_step(tmp_path):
    """A CUB-sized 500x335 JPEG through load -> resize 256 -> centre crop
    224 -> flip -> pack, with boxes checked by hand after each step."""
    path = osp.join(tmp_path, 'bird.jpg')
    write_image(path, 500, 335)
    steps = Compose(
        [
            dict(type='mmwsl.LoadImageWithCheck'),
            dict(type='mmwsl.WSOLResize', scale=(256, 256), backend='pillow'),
            dict(type='mmwsl.WSOLCenterCrop', crop_size=224),
            dict(
                type='mmwsl.WSOLRandomFlip', prob=1.0, direction='horizontal'
            ),
            dict(type='mmwsl.PackWSOLInputs'),
        ]
    ).transforms
    results = dict(
        img_path=path,
        gt_label=3,
        gt_bboxes=np.array([[60, 27, 385, 331]], np.float32),
    )
    results = steps[0](results)
    assert results['img'].shape == (335, 500, 3)
    results = steps[1](results)
    # floor(60 * 256 / 500) = 30, floor(27 * 256 / 335) = 20,
    # floor(385 * 256 / 500) = 197, floor(331 * 256 / 335) = 252.
    np.testing.assert_array_equal(results['gt_bboxes'], [[30, 20, 197, 252]])
    results = steps[2](results)
    np.testing.assert_array_equal(results['gt_bboxes'], [[14, 4, 181, 223]])
    results = steps[3](results)
    np.testing.assert_array_equal(results['gt_bboxes'], [[42, 4, 209, 223]])
    packed = steps[4](results)
    assert packed['inputs'].shape == (3, 224, 224)
    sample = packed['data_samples']
    assert sample.gt_bboxes.dtype == torch.float32
    assert sample.gt_bboxes.tolist() == [[42, 4, 209, 223]]
    assert sample.gt_label.tolist() == [3]

    # The wsolevaluation geometry: Resize (224, 224) only.
    results = dict(
        img_path=path, gt_bboxes=np.array([[60, 27, 385, 331]], np.float32)
    )
    results = WSOLResize(scale=(224, 224), backend='pillow')(steps[0](results))
    # int(60 * 224 / 500) = 26, int(27 * 224 / 335) = 18,
    # int(385 * 224 / 500) = 172, int(331 * 224 / 335) = 221.
    np.testing.assert_array_equal(results['gt_bboxes'], [[26, 18, 172, 221]])
