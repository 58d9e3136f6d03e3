# Copyright (c) mmwsl contributors. All rights reserved.
"""Check a downloaded WSOL dataset and list everything missing or wrong.

Examples::

    # CUB-200-2011 as extracted from CUB_200_2011.tgz
    python tools/dataset_converters/check_wsol_dataset.py cub \\
        data/CUB_200_2011 [--with-mask]

    # wsolevaluation layout (metadata/ and dataset/ in one folder)
    python tools/dataset_converters/check_wsol_dataset.py wsoleval \\
        data/wsolevaluation --dataset ILSVRC --split val test

Every problem is printed with its file and line; the exit code is 1 when
anything is wrong and 0 otherwise.
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional, Tuple

from mmwsl.datasets.cub import load_cub_annotations
from mmwsl.datasets.wsol_annotations import DatasetProblems
from mmwsl.datasets.wsoleval import (
    WSOLEVAL_DATASETS,
    WSOLEVAL_SPLITS,
    load_wsoleval_annotations,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check a WSOL dataset download: annotation files, '
        'listed images and masks, line counts, labels and boxes.'
    )
    sub = parser.add_subparsers(dest='layout', required=True)

    cub = sub.add_parser(
        'cub', help='CUB-200-2011 in its official archive layout'
    )
    cub.add_argument('data_root', help='the CUB_200_2011 folder')
    cub.add_argument(
        '--split',
        nargs='+',
        default=['train', 'test'],
        choices=['train', 'test'],
        help='splits to check (default: both)',
    )
    cub.add_argument(
        '--with-mask',
        action='store_true',
        help='also check segmentations/ (masks for PxAP)',
    )

    we = sub.add_parser(
        'wsoleval',
        help='CUB, ILSVRC or OpenImages in the wsolevaluation metadata layout',
    )
    we.add_argument('data_root', help='folder holding metadata/ and dataset/')
    we.add_argument(
        '--dataset', required=True, choices=list(WSOLEVAL_DATASETS)
    )
    we.add_argument(
        '--split',
        nargs='+',
        default=['train', 'val', 'test'],
        choices=list(WSOLEVAL_SPLITS),
        help='splits to check (default: all)',
    )
    we.add_argument(
        '--metadata-root',
        default='metadata',
        help='metadata folder, relative to data_root (default: metadata)',
    )
    we.add_argument(
        '--img-prefix',
        help='folder the image ids are relative to, relative to data_root '
        '(default: dataset/<DATASET>)',
    )
    we.add_argument(
        '--mask-prefix',
        help='folder the mask paths are relative to (default: the image '
        'folder)',
    )
    we.add_argument(
        '--image-ids-file',
        default='image_ids.txt',
        help='image list in the split folder (default: image_ids.txt)',
    )
    we.add_argument(
        '--verify-sizes',
        action='store_true',
        help='read every image header and compare with image_sizes.txt',
    )
    return parser.parse_args(argv)


Report = Tuple[DatasetProblems, List[dict]]


def check_cub(args: argparse.Namespace) -> List[Report]:
    reports = []
    for split in args.split:
        problems = DatasetProblems(
            f'CUB-200-2011 ({split} split) at {args.data_root}'
        )
        data = load_cub_annotations(
            args.data_root, split, problems, with_mask=args.with_mask
        )
        reports.append((problems, data))
        if problems and not data and not osp.isdir(args.data_root):
            break  # the same missing-folder message for every split
    return reports


def check_wsoleval(args: argparse.Namespace) -> List[Report]:
    reports = []
    img_prefix = osp.join(
        args.data_root, args.img_prefix or osp.join('dataset', args.dataset)
    )
    mask_prefix = img_prefix
    if args.mask_prefix:
        mask_prefix = osp.join(args.data_root, args.mask_prefix)
    spec = WSOLEVAL_DATASETS[args.dataset]
    for split in dict.fromkeys(WSOLEVAL_SPLITS[s] for s in args.split):
        metadata_dir = osp.join(
            args.data_root, args.metadata_root, args.dataset, split
        )
        problems = DatasetProblems(
            f'{args.dataset} ({split} split, wsolevaluation layout) at '
            f'{metadata_dir}'
        )
        data = load_wsoleval_annotations(
            metadata_dir,
            img_prefix,
            spec['annotation'],
            problems,
            num_classes=spec['num_classes'],
            mask_prefix=mask_prefix,
            image_ids_file=args.image_ids_file,
            require_localization=split != 'train',
            verify_sizes=args.verify_sizes,
        )
        reports.append((problems, data))
    return reports


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.layout == 'cub':
        reports = check_cub(args)
    else:
        reports = check_wsoleval(args)
    failed = False
    for problems, data in reports:
        if problems:
            failed = True
            print(problems.format(max_reported=None))
        else:
            num_boxes = sum(len(d['gt_bboxes']) for d in data)
            num_masks = sum('mask_path' in d for d in data)
            print(
                f'{problems.name}: OK, {len(data)} images, '
                f'{num_boxes} boxes, {num_masks} images with masks'
            )
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
