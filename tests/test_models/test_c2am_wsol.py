# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM box extraction, CorLoc and pseudo-box export (spec sections 4 and
9: box-extraction and JSON examples)."""

import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmwsl.apis.c2am_wsol import (
    REFERENCE_THRESHOLDS,
    c2am_boxes,
    continuous_iou,
    corloc_curve,
    extract_pseudo_boxes,
    load_pseudo_boxes,
    pseudo_box_key,
    pseudo_box_xywh,
    save_json_atomic,
    search_box_threshold,
)
from mmwsl.registry import DATASETS, MODELS


def _example_map():
    fmap = np.full((28, 28), 0.1, np.float32)
    fmap[5:15, 3:21] = 0.9
    fmap[20:23, 22:27] = 0.6
    return fmap


def test_box_extraction_example():
    boxes = c2am_boxes(_example_map(), [0.05, 0.5, 0.7, 0.95], (448, 448))
    # t=0.05: int(0.05 * 229) = 11, the whole map passes.
    np.testing.assert_array_equal(boxes[0], [[0, 0, 432, 432]])
    for b in boxes[1:]:
        np.testing.assert_array_equal(b, [[48, 80, 336, 240]])
    constant = np.full((28, 28), 0.8, np.float32)
    np.testing.assert_array_equal(
        c2am_boxes(constant, [0.5], (448, 448))[0], [[0, 0, 432, 432]]
    )
    # No foreground: [0, 0, 0, 0].
    np.testing.assert_array_equal(
        c2am_boxes(np.zeros((28, 28), np.float32), [0.5], (448, 448))[0],
        [[0, 0, 0, 0]],
    )
    assert len(REFERENCE_THRESHOLDS) == 19
    assert REFERENCE_THRESHOLDS[0] == 0.05 and REFERENCE_THRESHOLDS[-1] == 0.95


def test_tensor_input_and_per_axis_stride():
    fmap = torch.zeros(4, 6)
    fmap[1:3, 2:5] = 0.9
    # Stride 16 in y, 8 in x: boxes are [x*8, y*16, ...].
    boxes = c2am_boxes(fmap, [0.5], (64, 48))[0]
    np.testing.assert_array_equal(boxes, [[16, 16, 40, 48]])
    with pytest.raises(ValueError, match='map'):
        c2am_boxes(torch.zeros(1, 4, 6), [0.5])


def test_pseudo_box_json_example(tmp_path):
    xywh = pseudo_box_xywh([48, 80, 336, 240], (480, 480), (16, 16))
    np.testing.assert_allclose(xywh, [0.133333, 0.2, 0.6, 0.333333], atol=1e-6)
    path = str(tmp_path / 'out' / 'boxes.json')
    save_json_atomic({'a/b.jpg': xywh}, path)
    assert load_pseudo_boxes(path) == {'a/b.jpg': xywh}
    assert [f for f in (tmp_path / 'out').iterdir()] == [
        tmp_path / 'out' / 'boxes.json'
    ]
    # A folder of per-batch files (the reference layout) is merged.
    save_json_atomic(
        {'c.jpg': [0, 0, 1, 1]}, str(tmp_path / 'out' / '1_0_bbox.json')
    )
    assert len(load_pseudo_boxes(str(tmp_path / 'out'))) == 2
    (tmp_path / 'bad.json').write_text('{"x": [1, 2]}')
    with pytest.raises(ValueError, match='bad.json'):
        load_pseudo_boxes(str(tmp_path / 'bad.json'))
    assert (
        pseudo_box_key('/data//CUB/train//1/a.jpg')
        == '/data/CUB/train/1/a.jpg'
    )
    assert (
        pseudo_box_key('/data/CUB/train/1/a.jpg', '/data/CUB')
        == 'train/1/a.jpg'
    )


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = str(tmp_path / 'boxes.json')
    save_json_atomic({'a': [0, 0, 1, 1]}, path)
    with pytest.raises(TypeError):
        save_json_atomic({'a': object()}, path)
    with open(path) as f:
        assert json.load(f) == {'a': [0, 0, 1, 1]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['boxes.json']


def test_continuous_iou_and_ilsvrc_bug():
    assert continuous_iou([0, 0, 10, 10], [[0, 0, 10, 5]]) == 0.5
    assert continuous_iou(
        [0, 0, 10, 10], [[20, 20, 30, 30], [5, 0, 15, 10]]
    ) == pytest.approx(50 / 150)
    # Disjoint in x and y: 0 with clamping, positive without (quirk 7).
    disjoint = ([0, 0, 10, 10], [[12, 12, 14, 14]])
    assert continuous_iou(*disjoint) == 0
    assert continuous_iou(*disjoint, clamp_overlap=False) > 0


def test_corloc_curve_strict():
    fmap = _example_map()
    # GT equal to the 0.9 block box: IoU 1 for t >= 0.5 (> 0.5 counts).
    gt = np.array([[48, 80, 336, 240]])
    curve = corloc_curve([fmap], [gt], [(448, 448)], [0.05, 0.5])
    np.testing.assert_array_equal(curve, [0, 100])
    # IoU exactly 0.5 is not counted (strict >).
    half = np.array([[48, 80, 336, 160]])
    assert continuous_iou([48, 80, 336, 240], half[0]) == 0.5
    assert corloc_curve([fmap], [half], [(448, 448)], [0.5])[0] == 0


def _tiny_model():
    return MODELS.build(
        dict(
            type='mmwsl.C2AM',
            data_preprocessor=dict(
                mean=[128.0] * 3, std=[64.0] * 3, to_rgb=True
            ),
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                stem_channels=8,
                base_channels=8,
                strides=(1, 2, 2, 1),
                out_indices=(2, 3),
            ),
            head=dict(type='mmwsl.C2AMHead', in_channels=96),
        )
    )


def test_search_and_extract_end_to_end(tmp_path):
    dataset = DATASETS.build(
        dict(
            type='mmwsl.SyntheticWSOLDataset',
            data_root=str(tmp_path / 'syn'),
            num_samples=dict(train=3, test=2),
            image_size=64,
            split='test',
            pipeline=[
                dict(type='mmwsl.LoadImageWithCheck'),
                dict(type='mmwsl.WSOLResize', scale=(40, 40)),
                dict(type='mmwsl.WSOLCenterCrop', crop_size=32),
                dict(type='mmwsl.PackWSOLInputs'),
            ],
        )
    )
    loader = DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)
    torch.manual_seed(0)
    model = _tiny_model()
    model.head.set_polarity(False)
    best, curve = search_box_threshold(model, loader, [0.2, 0.5, 0.8])
    assert best in (0.2, 0.5, 0.8) and len(curve) == 3
    assert curve[best] == max(curve.values())

    out = str(tmp_path / 'boxes.json')
    boxes = extract_pseudo_boxes(
        model,
        loader,
        best,
        resize=(40, 40),
        relative_to=str(tmp_path / 'syn'),
        out_file=out,
    )
    assert sorted(boxes) == ['images/test/00000.png', 'images/test/00001.png']
    assert load_pseudo_boxes(out) == boxes
    # Recompute one box by hand: map -> box in the 32 crop -> offset 4.
    model.eval()
    data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
    with torch.no_grad():
        fmap = model(**data, mode='predict')[0].c2am_map
    box = c2am_boxes(fmap, [best], (32, 32))[0][0]
    x0, y0, x1, y1 = box
    np.testing.assert_allclose(
        boxes['images/test/00000.png'],
        [(x0 + 4) / 40, (y0 + 4) / 40, (x1 - x0) / 40, (y1 - y0) / 40],
    )
    assert osp.isfile(out)
