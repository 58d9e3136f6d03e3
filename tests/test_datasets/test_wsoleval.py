# Copyright (c) mmwsl contributors. All rights reserved.
"""WSOLEvalDataset on miniature ILSVRC (several boxes per image) and
OpenImages (instance and ignore masks) folders in the wsolevaluation layout,
through the dataset configs, plus the bad-input errors and the checker."""

import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmwsl.datasets import WSOLEvalDataset
from mmwsl.registry import DATASETS

from wsol_builders import (  # isort: skip
    ILSVRC_VAL,
    OPENIMAGES_VAL,
    build_openimages,
    build_wsoleval_boxes,
    openimages_ignore_name,
    openimages_mask_name,
    replace_line,
    write_lines,
)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = osp.join(REPO, 'configs', '_base_', 'datasets')


def _check_tool():
    path = osp.join(
        REPO, 'tools', 'dataset_converters', 'check_wsol_dataset.py'
    )
    spec = importlib.util.spec_from_file_location('check_wsol_dataset', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ilsvrc_root(tmp_path):
    return build_wsoleval_boxes(str(tmp_path), 'ILSVRC', 'val', ILSVRC_VAL)


@pytest.fixture
def oi_root(tmp_path):
    return build_openimages(str(tmp_path))


def _meta(root, dataset='ILSVRC', split='val', name='localization.txt'):
    return osp.join(root, 'metadata', dataset, split, name)


def test_ilsvrc_several_boxes(ilsvrc_root):
    ds = WSOLEvalDataset('ILSVRC', split='val', data_root=ilsvrc_root)
    assert len(ds) == 3
    assert len(ds.metainfo['classes']) == 1000
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [i['img_id'] for i in infos] == list(ILSVRC_VAL)
    assert [i['gt_label'] for i in infos] == [0, 0, 999]
    assert infos[1]['img_path'] == osp.join(
        ilsvrc_root, 'dataset', 'ILSVRC', 'val2/0/1.jpeg'
    )
    assert infos[1]['ori_size'] == (60, 45)
    np.testing.assert_array_equal(
        infos[1]['gt_bboxes'], [[15, 4, 59, 44], [2, 9, 43, 27]]
    )
    assert infos[1]['gt_bboxes'].dtype == np.float32
    # The paper's name of the split is an alias.
    alias = WSOLEvalDataset(
        'ILSVRC', split='train-fullsup', data_root=ilsvrc_root
    )
    assert [d['img_id'] for d in alias] == list(ILSVRC_VAL)


@pytest.mark.parametrize('protocol', ['bas', 'wsoleval'])
def test_ilsvrc_config_pipelines(ilsvrc_root, protocol):
    cfg = Config.fromfile(osp.join(CONFIGS, 'imagenet_wsol.py'))
    ds_cfg = dict(
        cfg.val_dataloader.dataset,
        data_root=ilsvrc_root,
        pipeline=cfg[f'test_pipeline_{protocol}'],
    )
    ds = DATASETS.build(ds_cfg)
    sample = ds[1]['data_samples']  # 60x45, two boxes
    if protocol == 'bas':
        # x0' = int(max(x0 * 256 / 60 - 16, 0)), x1' = int(min(x1 * 256 /
        # 60 - 16, 223)), likewise with 45 for y.
        assert sample.gt_bboxes.tolist() == [
            [48, 6, 223, 223],
            [0, 35, 167, 137],
        ]
    else:
        # x' = int(x * 224 / 60), y' = int(y * 224 / 45).
        assert sample.gt_bboxes.tolist() == [
            [56, 19, 220, 219],
            [7, 44, 160, 134],
        ]
    assert sample.img_id == 'val2/0/1.jpeg'
    assert ds[0]['inputs'].shape == (3, 224, 224)


def test_openimages_masks(oi_root):
    ds = WSOLEvalDataset('OpenImages', split='val', data_root=oi_root)
    assert len(ds) == 3
    prefix = osp.join(oi_root, 'dataset', 'OpenImages')
    ids = list(OPENIMAGES_VAL)
    first, second, third = (ds.get_data_info(i) for i in range(3))
    assert first['mask_path'] == osp.join(
        prefix, openimages_mask_name(ids[0], 0)
    )
    assert first['ignore_path'] == osp.join(
        prefix, openimages_ignore_name(ids[0])
    )
    # Several instances: all masks, no ignore mask.
    assert second['mask_path'] == [
        osp.join(prefix, openimages_mask_name(ids[1], k)) for k in range(2)
    ]
    assert 'ignore_path' not in second
    assert third['gt_label'] == 1
    # image_sizes.txt is empty for OpenImages, and there are no boxes.
    assert 'ori_size' not in first
    assert first['gt_bboxes'].shape == (0, 4)
    # Class names come from the image folders; absent labels get a name.
    classes = ds.metainfo['classes']
    assert len(classes) == 100
    assert classes[:3] == ('0bt_c3', '0by6g', 'class_2')


def test_openimages_config_pipeline(oi_root):
    cfg = Config.fromfile(osp.join(CONFIGS, 'openimages_wsol.py'))
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=oi_root))
    packed = ds[0]  # 448x448, one instance and an ignore region
    assert packed['inputs'].shape == (3, 224, 224)
    mask = packed['data_samples'].gt_mask.numpy()
    # Instance rows 60..199, columns 100..299; ignore rows 300..447. Halving
    # with nearest neighbour keeps every second pixel.
    expected = np.zeros((224, 224), np.uint8)
    expected[30:100, 50:150] = 1
    expected[150:, :] = 255
    np.testing.assert_array_equal(mask, expected)


def test_train_split_without_localization(tmp_path):
    root = build_wsoleval_boxes(
        str(tmp_path),
        'ILSVRC',
        'train',
        {
            'train/n01440764/a.JPEG': (0, 20, 10, []),
            'train/n01443537/b.JPEG': (1, 12, 14, []),
        },
    )
    os.remove(_meta(root, split='train', name='localization.txt'))
    os.remove(_meta(root, split='train', name='image_sizes.txt'))
    ds = WSOLEvalDataset('ILSVRC', split='train', data_root=root)
    assert [d['gt_label'] for d in ds] == [0, 1]
    assert all(d['gt_bboxes'].shape == (0, 4) for d in ds)
    # The proxy list of a subset.
    write_lines(
        _meta(root, split='train', name='image_ids_proxy.txt'),
        ['train/n01443537/b.JPEG'],
    )
    ds = WSOLEvalDataset(
        'ILSVRC',
        split='train',
        data_root=root,
        image_ids_file='image_ids_proxy.txt',
    )
    assert [d['gt_label'] for d in ds] == [1]


# ---------------------------------------------------------------- errors


def test_bad_arguments(ilsvrc_root):
    with pytest.raises(
        ValueError,
        match='dataset_name must be one of '
        r"\['CUB', 'ILSVRC', 'OpenImages'\], got 'VOC'",
    ):
        WSOLEvalDataset('VOC', data_root=ilsvrc_root)
    with pytest.raises(ValueError, match='split must be one of'):
        WSOLEvalDataset('ILSVRC', split='dev', data_root=ilsvrc_root)


def test_missing_metadata_and_image_folder(ilsvrc_root, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        WSOLEvalDataset('ILSVRC', split='test', data_root=ilsvrc_root)
    msg = str(e.value)
    assert (
        'wsolevaluation metadata not found at '
        f'{osp.join(ilsvrc_root, "metadata", "ILSVRC", "test")}'
    ) in msg
    assert 'the folder does not exist' in msg
    assert (
        'image_ids.txt' in msg and 'github.com/clovaai/wsolevaluation' in msg
    )

    os.remove(_meta(ilsvrc_root, name='image_sizes.txt'))
    with pytest.raises(FileNotFoundError, match='missing image_sizes.txt'):
        WSOLEvalDataset('ILSVRC', split='val', data_root=ilsvrc_root)

    with pytest.raises(FileNotFoundError, match='image folder not found: '):
        WSOLEvalDataset(
            'OpenImages',
            split='val',
            data_root=build_openimages(str(tmp_path)),
            data_prefix=dict(img_path='nowhere'),
        )


def test_missing_image_file(ilsvrc_root):
    img = osp.join(ilsvrc_root, 'dataset', 'ILSVRC', 'val2/0/1.jpeg')
    os.remove(img)
    with pytest.raises(FileNotFoundError) as e:
        WSOLEvalDataset('ILSVRC', split='val', data_root=ilsvrc_root)
    ids_file = _meta(ilsvrc_root, name='image_ids.txt')
    assert f'image file not found: {img} (listed in {ids_file}:2)' in str(
        e.value
    )
    # Without the check the dataset loads; the image loader names the file.
    ds = WSOLEvalDataset(
        'ILSVRC',
        split='val',
        data_root=ilsvrc_root,
        check_files=False,
        pipeline=[dict(type='mmwsl.LoadImageWithCheck')],
    )
    with pytest.raises(FileNotFoundError, match='val2/0/1.jpeg'):
        ds[1]


@pytest.mark.parametrize(
    'name, lineno, line, message',
    [
        (
            'class_labels.txt',
            3,
            'val2/999/0.jpeg,1000',
            r"class_labels.txt:3: label of image 'val2/999/0.jpeg' is 1000, "
            r'outside \[0, 999\]',
        ),
        (
            'class_labels.txt',
            1,
            'val2/0/0.jpeg,zero',
            r"class_labels.txt:1: label of image 'val2/0/0.jpeg' is not a "
            r"valid int: 'zero'",
        ),
        (
            'class_labels.txt',
            2,
            'val2/0/9.jpeg,0',
            r'class_labels.txt: 1 image id\(s\) are not listed in .*'
            r"image_ids.txt, e.g. 'val2/0/9.jpeg'",
        ),
        (
            'localization.txt',
            1,
            'val2/0/0.jpeg,5,6,50,20',
            r"localization.txt:1: box of image 'val2/0/0.jpeg' lies outside "
            r'the 50x40 \(WxH\) image: .* but x1 <= 49 and y1 <= 39 are '
            r'required',
        ),
        (
            'localization.txt',
            2,
            'val2/0/1.jpeg,15,4,10,44',
            r"localization.txt:2: invalid box of image 'val2/0/1.jpeg'",
        ),
        (
            'localization.txt',
            1,
            'val2/0/0.jpeg,5,6,30',
            r"localization.txt:1: expected 5 fields separated by ','",
        ),
        (
            'image_sizes.txt',
            1,
            'val2/0/0.jpeg,0,40',
            r"image_sizes.txt:1: size of 'val2/0/0.jpeg' must be positive",
        ),
        (
            'image_ids.txt',
            3,
            'val2/0/0.jpeg',
            r"image_ids.txt:3: 'val2/0/0.jpeg' is listed twice",
        ),
    ],
)
def test_bad_metadata_lines(ilsvrc_root, name, lineno, line, message):
    replace_line(_meta(ilsvrc_root, name=name), lineno, line)
    with pytest.raises(ValueError, match=message):
        WSOLEvalDataset('ILSVRC', split='val', data_root=ilsvrc_root)


def test_inconsistent_line_counts(ilsvrc_root):
    replace_line(_meta(ilsvrc_root, name='class_labels.txt'), 2, None)
    replace_line(_meta(ilsvrc_root, name='localization.txt'), 4, None)
    with pytest.raises(ValueError) as e:
        WSOLEvalDataset('ILSVRC', split='val', data_root=ilsvrc_root)
    msg = str(e.value)
    ids_file = _meta(ilsvrc_root, name='image_ids.txt')
    assert '2 problem(s) found' in msg
    assert (
        f'{_meta(ilsvrc_root, name="class_labels.txt")}: 1 image id(s) '
        f'of {ids_file} (3 entries) have no line here (2 entries), e.g. '
        "'val2/0/1.jpeg'"
    ) in msg
    assert 'localization.txt: 1 image id(s) of' in msg
    assert "'val2/999/0.jpeg'" in msg


def test_openimages_errors(oi_root):
    loc = _meta(oi_root, 'OpenImages', 'val')
    ids = list(OPENIMAGES_VAL)
    replace_line(
        loc, 3, f'{ids[1]},{openimages_mask_name(ids[1], 1)},extra.png'
    )
    with pytest.raises(
        ValueError,
        match=r'localization.txt:3: only the first '
        r"line of image '.*3a29f0b33894d4a6.jpg' may name an "
        r'ignore mask \(line 2\)',
    ):
        WSOLEvalDataset('OpenImages', split='val', data_root=oi_root)

    replace_line(loc, 3, f'{ids[1]},{openimages_mask_name(ids[1], 1)},')
    os.remove(
        osp.join(
            oi_root, 'dataset', 'OpenImages', openimages_ignore_name(ids[0])
        )
    )
    with pytest.raises(
        FileNotFoundError,
        match='mask file not found: .*1cd9ac0169ec7df0_ignore.png',
    ):
        WSOLEvalDataset('OpenImages', split='val', data_root=oi_root)


def test_check_tool(ilsvrc_root, oi_root, capsys):
    check = _check_tool()
    assert (
        check.main(
            [
                'wsoleval',
                ilsvrc_root,
                '--dataset',
                'ILSVRC',
                '--split',
                'val',
                '--verify-sizes',
            ]
        )
        == 0
    )
    assert 'OK, 3 images, 4 boxes' in capsys.readouterr().out
    assert (
        check.main(
            ['wsoleval', oi_root, '--dataset', 'OpenImages', '--split', 'val']
        )
        == 0
    )
    assert '3 images with masks' in capsys.readouterr().out

    # A listed size that differs from the image file (only seen when the
    # headers are read) and a missing split.
    replace_line(
        _meta(ilsvrc_root, name='image_sizes.txt'), 1, 'val2/0/0.jpeg,51,40'
    )
    assert (
        check.main(
            [
                'wsoleval',
                ilsvrc_root,
                '--dataset',
                'ILSVRC',
                '--split',
                'val',
                'test',
                '--verify-sizes',
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert (
        "image 'val2/0/0.jpeg' is 50x40 (WxH) but "
        f'{_meta(ilsvrc_root, name="image_sizes.txt")} lists 51x40'
    ) in out
    assert 'wsolevaluation metadata not found' in out
