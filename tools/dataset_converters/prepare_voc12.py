# Copyright (c) mmwsl contributors. All rights reserved.
"""Prepare PASCAL VOC 2012 (+ SBD) for mmwsl's WSSS configs.

Checks the MMSeg layout under VOC2012_ROOT, reports what is missing, and
writes what the WSSS pipeline derives from it:

* ``SegmentationClassAug/<name>.png`` from SBD's ``cls/<name>.mat`` when
  --sbd is given and the folder is incomplete;
* ``ImageSets/Segmentation/train_aug.txt`` (10,582 images): MMSeg's
  ``trainaug.txt``, else ``train.txt`` + MMSeg's ``aug.txt``, else SBD's
  ``train.txt`` + ``val.txt`` + VOC ``train.txt`` minus VOC ``val.txt``;
* ``cls_labels.txt``: image-level labels of every image in train_aug, train
  and val, from the XML annotations (default when present, difficult
  objects included) or from the segmentation maps (--label-source seg).

Existing files are kept unless --force. Example:
    python tools/dataset_converters/prepare_voc12.py \\
        data/VOCdevkit/VOC2012 --sbd data/VOCdevkit/VOCaug/dataset
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from mmwsl.datasets.voc import VOC_CLASSES, labels_from_xml  # noqa: E402
from mmwsl.datasets.wsss_labels import (
    labels_from_label_map,  # noqa: E402
    read_label_map,
    read_split,
    write_label_file,
)

TRAIN_AUG_SIZE = 10582
SEG_SETS = 'ImageSets/Segmentation'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Check VOC2012 (+SBD) and write the WSSS label files'
    )
    parser.add_argument('root', help='the VOC2012 folder')
    parser.add_argument(
        '--sbd', help="SBD's dataset folder (with cls/ and train.txt)"
    )
    parser.add_argument(
        '--label-source',
        choices=['xml', 'seg'],
        default=None,
        help='where image-level labels come from (default: xml when '
        'Annotations/ exists)',
    )
    parser.add_argument(
        '--force', action='store_true', help='rewrite existing files'
    )
    return parser.parse_args(argv)


def _write_lines(path: str, lines) -> None:
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        f.writelines(f'{x}\n' for x in lines)
    os.replace(tmp, path)


def check_layout(root: str) -> list:
    """(item, present, note) rows for the report."""
    rows = []
    for item, note in [
        ('JPEGImages', 'VOC images'),
        ('Annotations', 'XML boxes (label source "xml")'),
        ('SegmentationClass', 'train/val GT for pseudo-label evaluation'),
        (
            'SegmentationClassAug',
            'SBD-augmented GT (MMSeg voc_aug.py or --sbd)',
        ),
        (f'{SEG_SETS}/train.txt', '1,464 images'),
        (f'{SEG_SETS}/val.txt', '1,449 images'),
        (f'{SEG_SETS}/train_aug.txt', '10,582 images (written here)'),
        ('cls_labels.txt', 'image-level labels (written here)'),
    ]:
        rows.append((item, osp.exists(osp.join(root, item)), note))
    return rows


def sbd_to_png(sbd: str, root: str, names, force: bool) -> int:
    """Write SBD ``cls/<name>.mat`` maps as PNGs to SegmentationClassAug."""
    from scipy.io import loadmat

    out_dir = osp.join(root, 'SegmentationClassAug')
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for name in names:
        out = osp.join(out_dir, name + '.png')
        src = osp.join(sbd, 'cls', name + '.mat')
        if (osp.isfile(out) and not force) or not osp.isfile(src):
            continue
        seg = loadmat(src)['GTcls'][0]['Segmentation'][0].astype(np.uint8)
        tmp = f'{out}.{os.getpid()}.tmp.png'
        Image.fromarray(seg).save(tmp)
        os.replace(tmp, out)
        written += 1
    return written


def build_train_aug(root: str, sbd: str = None) -> list:
    sets = osp.join(root, SEG_SETS)
    if osp.isfile(osp.join(sets, 'trainaug.txt')):
        return read_split(osp.join(sets, 'trainaug.txt'))
    train = read_split(osp.join(sets, 'train.txt'))
    if osp.isfile(osp.join(sets, 'aug.txt')):
        names = train + read_split(osp.join(sets, 'aug.txt'))
    elif sbd is not None:
        val = set(read_split(osp.join(sets, 'val.txt')))
        sbd_names = read_split(osp.join(sbd, 'train.txt')) + read_split(
            osp.join(sbd, 'val.txt')
        )
        names = train + [n for n in sbd_names if n not in val]
    else:
        raise FileNotFoundError(
            f'Cannot build train_aug.txt: {sets} has neither trainaug.txt '
            f'nor aug.txt (MMSeg tools/dataset_converters/voc_aug.py writes '
            f'them) and no --sbd folder was given.'
        )
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return sorted(out)


def image_labels(root: str, names, source: str) -> dict:
    labels = {}
    for name in names:
        if source == 'xml':
            labels[name] = labels_from_xml(
                osp.join(root, 'Annotations', name + '.xml')
            )
        else:
            path = osp.join(root, 'SegmentationClassAug', name + '.png')
            if not osp.isfile(path):
                path = osp.join(root, 'SegmentationClass', name + '.png')
            labels[name] = labels_from_label_map(
                read_label_map(path, 'segmentation GT'), len(VOC_CLASSES), path
            )
    return labels


def main(argv=None) -> dict:
    args = parse_args(argv)
    root = args.root
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root} is not a folder.')
    sets = osp.join(root, SEG_SETS)
    for split in ('train', 'val'):
        if not osp.isfile(osp.join(sets, f'{split}.txt')):
            raise FileNotFoundError(
                f'{sets}/{split}.txt is missing; is {root} the VOC2012 '
                f'folder of VOCtrainval_11-May-2012?'
            )
    train_aug_path = osp.join(sets, 'train_aug.txt')
    if osp.isfile(train_aug_path) and not args.force:
        train_aug = read_split(train_aug_path)
    else:
        train_aug = build_train_aug(root, args.sbd)
        _write_lines(train_aug_path, train_aug)
        print(f'wrote {train_aug_path} ({len(train_aug)} images)')
    if len(train_aug) != TRAIN_AUG_SIZE:
        print(
            f'warning: train_aug has {len(train_aug)} images, expected '
            f'{TRAIN_AUG_SIZE}.'
        )
    names = sorted(
        set(train_aug)
        | set(read_split(osp.join(sets, 'train.txt')))
        | set(read_split(osp.join(sets, 'val.txt')))
    )
    if args.sbd is not None:
        n = sbd_to_png(args.sbd, root, names, args.force)
        print(f'wrote {n} SegmentationClassAug PNGs from {args.sbd}')

    label_path = osp.join(root, 'cls_labels.txt')
    source = args.label_source or (
        'xml' if osp.isdir(osp.join(root, 'Annotations')) else 'seg'
    )
    if not osp.isfile(label_path) or args.force:
        labels = image_labels(root, names, source)
        write_label_file(label_path, labels)
        empty = [n for n, v in labels.items() if not v]
        print(
            f'wrote {label_path} ({len(labels)} images, labels from '
            f'{source}; {len(empty)} without objects)'
        )

    missing_imgs = [
        n
        for n in names
        if not osp.isfile(osp.join(root, 'JPEGImages', n + '.jpg'))
    ]
    rows = check_layout(root)
    print('\nVOC2012 layout:')
    for item, present, note in rows:
        print(f'  [{"ok" if present else "MISSING"}] {item}: {note}')
    if missing_imgs:
        print(
            f'  [MISSING] {len(missing_imgs)} images of the splits, e.g. '
            f'JPEGImages/{missing_imgs[0]}.jpg'
        )
    return dict(
        rows=rows, missing_images=missing_imgs, num_train_aug=len(train_aug)
    )


if __name__ == '__main__':
    main()
