# Copyright (c) mmwsl contributors. All rights reserved.
"""VOC12 / COCO14 WSSS datasets and their converters, on miniature trees
written to tmp_path."""

import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmwsl.datasets import COCO14ClsDataset, COCO14SegDataset, VOC12ClsDataset
from mmwsl.datasets.coco import rle_decode
from mmwsl.datasets.wsss_labels import read_label_map

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(relpath):
    path = osp.join(REPO, 'tools', relpath)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.basename(relpath)[:-3], path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VOC_OBJECTS = {  # name: (xml classes, seg classes)
    '2007_000032': (['aeroplane', 'person', 'person'], [0, 14]),
    '2007_000039': (['tvmonitor'], [19]),
    '2008_000002': (['cat', 'dog'], [7, 11]),
    '2009_000001': (['bus'], [5]),
}


def palette_png(path, label):
    img = Image.fromarray(label.astype(np.uint8), mode='P')
    img.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    img.save(path)


def make_voc(root):
    for sub in (
        'JPEGImages',
        'Annotations',
        'SegmentationClass',
        'SegmentationClassAug',
        'ImageSets/Segmentation',
    ):
        (root / sub).mkdir(parents=True)
    for name, (objs, seg) in VOC_OBJECTS.items():
        cv2.imwrite(
            str(root / 'JPEGImages' / f'{name}.jpg'),
            np.full((12, 16, 3), 100, np.uint8),
        )
        xml = ''.join(
            f'<object><name>{o}</name><difficult>0</difficult></object>'
            for o in objs
        )
        (root / 'Annotations' / f'{name}.xml').write_text(
            f'<annotation><filename>{name}.jpg</filename>{xml}</annotation>'
        )
        label = np.zeros((12, 16), np.uint8)
        for i, c in enumerate(seg):
            label[2 + i * 4 : 5 + i * 4, 3:9] = c + 1
        label[0] = 255
        palette_png(root / 'SegmentationClass' / f'{name}.png', label)
        cv2.imwrite(
            str(root / 'SegmentationClassAug' / f'{name}.png'),
            np.where(label == 255, 0, label),
        )
    sets = root / 'ImageSets' / 'Segmentation'
    (sets / 'train.txt').write_text('2007_000032\n2007_000039\n')
    (sets / 'val.txt').write_text('2008_000002\n')
    (sets / 'aug.txt').write_text('2009_000001\n')


def test_voc_converter_and_dataset(tmp_path):
    root = tmp_path / 'VOC2012'
    make_voc(root)
    report = load_tool('dataset_converters/prepare_voc12.py').main([str(root)])
    assert report['num_train_aug'] == 3 and not report['missing_images']
    assert (
        root / 'ImageSets/Segmentation/train_aug.txt'
    ).read_text() == '2007_000032\n2007_000039\n2009_000001\n'
    lines = (root / 'cls_labels.txt').read_text().splitlines()
    assert '2007_000032 0 14' in lines and '2008_000002 7 11' in lines
    ds = VOC12ClsDataset(data_root=str(root), split='train_aug')
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert info['gt_label'] == [0, 14]
    assert info['img_path'].endswith('JPEGImages/2007_000032.jpg')
    assert info['seg_map_path'].endswith(
        'SegmentationClassAug/2007_000032.png'
    )
    # The three label sources agree.
    for source in ('xml', 'seg'):
        other = VOC12ClsDataset(
            data_root=str(root), split='train_aug', label_source=source
        )
        assert [other.get_data_info(i)['gt_label'] for i in range(3)] == [
            ds.get_data_info(i)['gt_label'] for i in range(3)
        ]
    # Palette PNGs are read as indices, with the 255 border.
    gt = read_label_map(str(root / 'SegmentationClass/2007_000032.png'))
    assert set(np.unique(gt).tolist()) == {0, 1, 15, 255}


def test_voc_bad_label_entries(tmp_path):
    root = tmp_path / 'VOC2012'
    make_voc(root)
    sets = root / 'ImageSets/Segmentation'
    (sets / 'train_aug.txt').write_text('2007_000032\n2007_000039\n')
    (root / 'cls_labels.txt').write_text('2007_000032 0 14\n')
    with pytest.raises(
        KeyError, match='no entry .*cls_labels.txt.*2007_000039'
    ):
        VOC12ClsDataset(data_root=str(root), split='train_aug')
    (root / 'cls_labels.txt').write_text('2007_000032 0 14\n2007_000039 20\n')
    with pytest.raises(
        ValueError,
        match=r'cls_labels.txt:2: class ids '
        r'\[20\] of 2007_000039 are out of range',
    ):
        VOC12ClsDataset(data_root=str(root), split='train_aug')
    with pytest.raises(FileNotFoundError, match='Split file'):
        VOC12ClsDataset(data_root=str(root), split='nope')


def coco_rle_string(counts):
    """COCO's compressed RLE encoding (the inverse of the decoder)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return ''.join(out)


def test_rle_decoding():
    mask = np.zeros((7, 5), np.uint8)
    mask[1:4, 1:3] = 1
    mask[5:, 4] = 1
    flat = mask.T.reshape(-1)  # column-major
    counts, value, run = [], 0, 0
    for v in flat:
        if v != value:
            counts.append(run)
            value, run = v, 0
        run += 1
    counts.append(run)
    np.testing.assert_array_equal(
        rle_decode(dict(size=[7, 5], counts=counts)), mask
    )
    np.testing.assert_array_equal(
        rle_decode(dict(size=[7, 5], counts=coco_rle_string(counts))), mask
    )
    with pytest.raises(ValueError, match='RLE covers'):
        rle_decode(dict(size=[7, 5], counts=[3, 4]))


def make_coco(root):
    (root / 'annotations').mkdir(parents=True)
    (root / 'val2014').mkdir()
    images, anns = [], []
    for i in range(3):
        name = f'COCO_val2014_{i + 1:012d}.jpg'
        cv2.imwrite(
            str(root / 'val2014' / name), np.full((10, 8, 3), 50, np.uint8)
        )
        images.append(dict(id=i + 1, file_name=name, height=10, width=8))
    # Image 1: a person polygon, then a dog polygon on top of it.
    anns.append(
        dict(
            id=1,
            image_id=1,
            category_id=1,
            iscrowd=0,
            segmentation=[[0, 0, 5, 0, 5, 5, 0, 5]],
        )
    )
    anns.append(
        dict(
            id=2,
            image_id=1,
            category_id=18,
            iscrowd=0,
            segmentation=[[3, 3, 7, 3, 7, 9, 3, 9]],
        )
    )
    # Image 2: a crowd RLE of the last category (id 90 -> class 79).
    mask = np.zeros((10, 8), np.uint8)
    mask[6:, :4] = 1
    flat = mask.T.reshape(-1)
    counts = [int(np.argmax(flat))]
    rest = flat[counts[0] :]
    while len(rest):
        v = rest[0]
        n = int(np.argmax(rest != v)) if (rest != v).any() else len(rest)
        counts.append(n)
        rest = rest[n:]
    anns.append(
        dict(
            id=3,
            image_id=2,
            category_id=90,
            iscrowd=1,
            segmentation=dict(size=[10, 8], counts=counts),
        )
    )
    # Image 3: no objects.
    gaps = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}  # COCO's unused ids
    cats = [
        dict(id=c, name=f'c{c}') for c in range(90, 0, -1) if c not in gaps
    ]
    (root / 'annotations' / 'instances_val2014.json').write_text(
        json.dumps(dict(images=images, annotations=anns, categories=cats))
    )
    return mask


def test_coco_converter_and_datasets(tmp_path):
    root = tmp_path / 'coco'
    crowd = make_coco(root)
    reports = load_tool('dataset_converters/prepare_coco14.py').main(
        [str(root), '--splits', 'val2014', 'train2014']
    )
    assert reports[0]['num_images'] == 3 and reports[0]['num_labelled'] == 2
    assert reports[0]['masks_written'] == 3 and not reports[0]['missing']
    assert reports[1]['missing'][0].endswith('instances_train2014.json')
    lines = (root / 'cls_labels_val2014.txt').read_text().splitlines()
    # Category ids 1, 18, 90 are classes 0, 16, 79 in ascending id order.
    assert lines == [
        'COCO_val2014_000000000001 0 16',
        'COCO_val2014_000000000002 79',
        'COCO_val2014_000000000003',
    ]
    seg = read_label_map(
        str(root / 'SegmentationClass/val2014/COCO_val2014_000000000001.png')
    )
    assert seg[1, 1] == 1 and seg[4, 4] == 17 and seg[8, 5] == 17
    assert seg[9, 0] == 0 and 255 not in seg
    seg2 = read_label_map(
        str(root / 'SegmentationClass/val2014/COCO_val2014_000000000002.png')
    )
    np.testing.assert_array_equal(seg2, crowd * 80)
    ds = COCO14ClsDataset(data_root=str(root), split='val2014')
    assert len(ds) == 2  # the image without objects is dropped
    assert ds.get_data_info(1)['gt_label'] == [79]
    assert osp.isfile(ds.get_data_info(0)['seg_map_path'])
    # Without the label file the labels come from the JSON.
    (root / 'cls_labels_val2014.txt').unlink()
    ds_json = COCO14ClsDataset(
        data_root=str(root), split='val2014', filter_empty=False
    )
    assert [ds_json.get_data_info(i)['gt_label'] for i in range(3)] == [
        [0, 16],
        [79],
        [],
    ]
    seg_ds = COCO14SegDataset(
        data_root=str(root),
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'
        ),
    )
    assert len(seg_ds) == 3 and len(seg_ds.metainfo['classes']) == 81
