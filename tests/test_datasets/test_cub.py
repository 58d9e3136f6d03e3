# Copyright (c) mmwsl contributors. All rights reserved.
"""CUBWSOLDataset on a miniature CUB_200_2011 folder of real files, its
config pipelines (both protocols), the converter to the wsolevaluation
layout and the dataset checker."""

import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmwsl.datasets import CUBWSOLDataset, WSOLEvalDataset
from mmwsl.registry import DATASETS

from wsol_builders import (  # isort: skip
    CUB_BOXES,
    CUB_IMAGES,
    build_cub,
    replace_line,
)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CUB_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets', 'cub_wsol.py')


def _tool(name):
    path = osp.join(REPO, 'tools', 'dataset_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cub_root(tmp_path):
    return build_cub(str(tmp_path))


def test_test_and_train_splits(cub_root):
    ds = CUBWSOLDataset(cub_root, split='test')
    assert len(ds) == 2
    assert len(ds.metainfo['classes']) == 200
    assert ds.metainfo['classes'][1] == 'Laysan_Albatross'
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    assert first['img_id'] == CUB_IMAGES[0][1]
    assert first['img_path'] == osp.join(cub_root, 'images', CUB_IMAGES[0][1])
    assert first['gt_label'] == 0 and second['gt_label'] == 1
    assert first['ori_size'] == (50, 40) and second['ori_size'] == (40, 60)
    assert first['gt_bboxes'].dtype == np.float32
    # (x, y, w, h) = (10, 5, 20, 30) -> (10, 5, 30, 35);
    # (3, 7, 37, 53) in a 40x60 image -> x1 = min(40, 39), y1 = min(60, 59).
    np.testing.assert_array_equal(first['gt_bboxes'], [[10, 5, 30, 35]])
    np.testing.assert_array_equal(second['gt_bboxes'], [[3, 7, 39, 59]])
    assert 'mask_path' not in first

    train = CUBWSOLDataset(cub_root, split='train')
    assert [d['gt_label'] for d in train] == [0, 199]
    for info in train:
        img_id = 2 if info['gt_label'] == 0 else 4
        np.testing.assert_array_equal(info['gt_bboxes'], [CUB_BOXES[img_id]])


def test_masks(cub_root):
    ds = CUBWSOLDataset(cub_root, split='test', with_mask=True)
    mask_path = ds.get_data_info(0)['mask_path']
    assert mask_path == osp.join(
        cub_root, 'segmentations', CUB_IMAGES[0][1].replace('.jpg', '.png')
    )
    assert osp.isfile(mask_path)


def _build(cfg_dataset, root):
    cfg_dataset = dict(cfg_dataset, data_root=root)
    return DATASETS.build(cfg_dataset)


@pytest.mark.parametrize('protocol', ['bas', 'wsoleval'])
def test_config_pipelines(cub_root, protocol):
    cfg = Config.fromfile(CUB_CONFIG)
    cfg_ds = cfg.test_dataloader.dataset
    cfg_ds.pipeline = cfg[f'test_pipeline_{protocol}']
    ds = _build(cfg_ds, cub_root)
    boxes = [ds[i]['data_samples'].gt_bboxes.tolist() for i in range(2)]
    if protocol == 'bas':
        # x0' = int(max(x0 * 256 / W - 16, 0)), x1' = int(min(x1 * 256 / W
        # - 16, 223)); image 1 is 50x40, image 3 is 40x60.
        assert boxes == [[[35, 16, 137, 208]], [[3, 13, 223, 223]]]
    else:
        # x' = int(x * 224 / W).
        assert boxes == [[[44, 28, 134, 196]], [[16, 26, 218, 220]]]
    packed = ds[0]
    assert packed['inputs'].shape == (3, 224, 224)
    sample = packed['data_samples']
    assert sample.img_id == CUB_IMAGES[0][1]
    assert sample.ori_shape == (40, 50)
    assert sample.gt_label.tolist() == [0]


def test_config_switch_by_inheritance_and_cfg_options(cub_root, tmp_path):
    child = osp.join(tmp_path, 'cub_wsoleval.py')
    with open(child, 'w') as f:
        f.write(
            f'_base_ = [{CUB_CONFIG!r}]\n'
            'val_dataloader = dict(dataset=dict(\n'
            '    pipeline={{_base_.test_pipeline_wsoleval}}))\n'
            'test_dataloader = val_dataloader\n'
        )
    cfg = Config.fromfile(child)
    ds = _build(cfg.test_dataloader.dataset, cub_root)
    assert ds[0]['data_samples'].gt_bboxes.tolist() == [[44, 28, 134, 196]]

    cfg = Config.fromfile(CUB_CONFIG)
    cfg.merge_from_dict(
        {'test_dataloader.dataset.pipeline.1.scale': (224, 224)}
    )
    ds = _build(cfg.test_dataloader.dataset, cub_root)
    assert ds[0]['data_samples'].gt_bboxes.tolist() == [[44, 28, 134, 196]]


def test_train_pipeline_and_mask_pipeline(cub_root):
    cfg = Config.fromfile(CUB_CONFIG)
    ds = _build(cfg.train_dataloader.dataset, cub_root)
    packed = ds[0]
    assert packed['inputs'].shape == (3, 224, 224)
    box = packed['data_samples'].gt_bboxes
    assert box.shape == (1, 4) and (box >= 0).all() and (box <= 223).all()

    ds = CUBWSOLDataset(
        cub_root,
        split='test',
        with_mask=True,
        pipeline=cfg.test_pipeline_bas[:1]
        + [dict(type='mmwsl.LoadWSOLMask')]
        + cfg.test_pipeline_bas[1:],
    )
    sample = ds[0]['data_samples']
    # The mask follows the image: OpenCV nearest resize, then the crop.
    mask = cv2.imread(ds.get_data_info(0)['mask_path'], cv2.IMREAD_UNCHANGED)
    expected = cv2.resize(
        (mask > 0).astype(np.uint8),
        (256, 256),
        interpolation=cv2.INTER_NEAREST,
    )[16:240, 16:240]
    np.testing.assert_array_equal(sample.gt_mask.numpy(), expected)


def test_both_layouts_agree(cub_root, tmp_path):
    """The converter writes wsolevaluation metadata that WSOLEvalDataset
    reads back into the same samples."""
    out = osp.join(tmp_path, 'wsoleval', 'metadata', 'CUB')
    assert _tool('cub_to_wsoleval').main([cub_root, out]) == 0
    with open(osp.join(out, 'test', 'localization.txt')) as f:
        text = f.read()
    assert text == (
        f'{CUB_IMAGES[0][1]},10,5,30,35\n{CUB_IMAGES[2][1]},3,7,39,59'
    )  # no final newline
    with open(osp.join(out, 'test', 'image_sizes.txt')) as f:
        assert f.read().split('\n')[1] == f'{CUB_IMAGES[2][1]},40,60'
    assert not [n for n in os.listdir(osp.join(out, 'test')) if '.tmp' in n]

    for split in ('train', 'test'):
        archive = CUBWSOLDataset(cub_root, split=split)
        we = WSOLEvalDataset(
            'CUB',
            split=split,
            data_root=osp.join(tmp_path, 'wsoleval'),
            data_prefix=dict(img_path=osp.join(cub_root, 'images')),
        )
        assert len(we) == len(archive)
        for a, b in zip(archive, we):
            for key in ('img_path', 'img_id', 'gt_label', 'ori_size'):
                assert a[key] == b[key]
            np.testing.assert_array_equal(a['gt_bboxes'], b['gt_bboxes'])
        assert we.metainfo['classes'] == archive.metainfo['classes']


# ---------------------------------------------------------------- errors


def test_missing_dataset_folder(tmp_path):
    root = osp.join(tmp_path, 'CUB_200_2011')
    with pytest.raises(FileNotFoundError) as e:
        CUBWSOLDataset(root, split='test')
    msg = str(e.value)
    assert f'CUB-200-2011 not found at {root}' in msg
    assert 'images.txt' in msg and 'bounding_boxes.txt' in msg
    assert 'CUB_200_2011.tgz' in msg and 'https://' in msg


def test_missing_segmentations_folder(tmp_path):
    root = build_cub(str(tmp_path), with_mask=False)
    with pytest.raises(FileNotFoundError, match='segmentations.tgz'):
        CUBWSOLDataset(root, split='test', with_mask=True)


def test_missing_image_and_mask_files(cub_root):
    os.remove(osp.join(cub_root, 'images', CUB_IMAGES[2][1]))
    with pytest.raises(FileNotFoundError) as e:
        CUBWSOLDataset(cub_root, split='test')
    assert (
        f'image file not found: '
        f'{osp.join(cub_root, "images", CUB_IMAGES[2][1])} (listed in '
        f'{osp.join(cub_root, "images.txt")}:3)'
    ) in str(e.value)
    # The train split does not need that image.
    assert len(CUBWSOLDataset(cub_root, split='train')) == 2

    os.remove(
        osp.join(
            cub_root, 'segmentations', CUB_IMAGES[1][1].replace('.jpg', '.png')
        )
    )
    with pytest.raises(
        FileNotFoundError,
        match='mask file not found: .*Black_Footed_Albatross_0009_34.png',
    ):
        CUBWSOLDataset(cub_root, split='train', with_mask=True)


@pytest.mark.parametrize(
    'file, lineno, line, message',
    [
        (
            'bounding_boxes.txt',
            1,
            '1 55.0 5.0 2.0 2.0',
            r'bounding_boxes.txt:1: box of image 1 '
            r'\(001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg\)'
            r' starts outside the 50x40 '
            r'\(WxH\) image: x=55',
        ),
        (
            'bounding_boxes.txt',
            3,
            '3 3.0 7.0 -1.0 5.0',
            r'bounding_boxes.txt:3: box of image 3 .* has a negative size',
        ),
        (
            'bounding_boxes.txt',
            1,
            '1 10.0 5.0',
            r'bounding_boxes.txt:1: expected 5 fields separated by '
            r'whitespace, got 3',
        ),
        (
            'bounding_boxes.txt',
            1,
            '1 ten 5.0 20.0 30.0',
            r'bounding_boxes.txt:1: x of the box of image 1 .* is not a valid '
            r"float: 'ten'",
        ),
        (
            'image_class_labels.txt',
            3,
            '3 201',
            r'image_class_labels.txt:3: class id of image 3 .* is 201, '
            r'outside \[1, 200\]',
        ),
        (
            'image_class_labels.txt',
            1,
            '1 0',
            r'image_class_labels.txt:1: class id of image 1 .* is 0',
        ),
        (
            'train_test_split.txt',
            3,
            '3 2',
            r'train_test_split.txt:3: split flag of image 3 must be 1 '
            r"\(train\) or 0 \(test\), got '2'",
        ),
        (
            'images.txt',
            2,
            '1 001.Black_footed_Albatross/x.jpg',
            r"images.txt:2: '1' is listed twice \(first on line 1\)",
        ),
    ],
)
def test_bad_annotation_lines(cub_root, file, lineno, line, message):
    replace_line(osp.join(cub_root, file), lineno, line)
    with pytest.raises(ValueError, match=message):
        CUBWSOLDataset(cub_root, split='test')


def test_inconsistent_line_counts(cub_root):
    replace_line(osp.join(cub_root, 'bounding_boxes.txt'), 3, None)
    with pytest.raises(ValueError) as e:
        CUBWSOLDataset(cub_root, split='train')  # image 3 is a test image
    msg = str(e.value)
    assert (
        f'{osp.join(cub_root, "bounding_boxes.txt")}: 1 image id(s) of '
        f'{osp.join(cub_root, "images.txt")} (4 entries) have no line '
        "here (3 entries), e.g. '3'"
    ) in msg


def test_all_problems_reported_at_once(cub_root):
    replace_line(osp.join(cub_root, 'image_class_labels.txt'), 1, '1 300')
    replace_line(
        osp.join(cub_root, 'bounding_boxes.txt'), 3, '3 99.0 7.0 1.0 1.0'
    )
    os.remove(osp.join(cub_root, 'images', CUB_IMAGES[0][1]))
    with pytest.raises(ValueError) as e:
        CUBWSOLDataset(cub_root, split='test')
    msg = str(e.value)
    assert '3 problem(s) found' in msg
    assert 'image_class_labels.txt:1' in msg
    assert 'bounding_boxes.txt:3' in msg
    assert 'image file not found' in msg


def test_check_tool(cub_root, capsys):
    check = _tool('check_wsol_dataset')
    assert check.main(['cub', cub_root, '--with-mask']) == 0
    out = capsys.readouterr().out
    assert '(test split)' in out and 'OK, 2 images, 2 boxes' in out

    replace_line(osp.join(cub_root, 'image_class_labels.txt'), 4, '4 0')
    os.remove(osp.join(cub_root, 'images', CUB_IMAGES[2][1]))
    assert check.main(['cub', cub_root]) == 1
    out = capsys.readouterr().out
    assert 'image_class_labels.txt:4: class id of image 4' in out
    assert 'image file not found' in out

    assert check.main(['cub', osp.join(cub_root, 'missing')]) == 1
    assert 'CUB-200-2011 not found' in capsys.readouterr().out


def test_converter_refuses_broken_dataset(cub_root, tmp_path, capsys):
    replace_line(osp.join(cub_root, 'image_class_labels.txt'), 1, '1 999')
    out = osp.join(tmp_path, 'metadata', 'CUB')
    assert _tool('cub_to_wsoleval').main([cub_root, out]) == 1
    assert not osp.exists(out)
    assert 'Nothing written' in capsys.readouterr().err
