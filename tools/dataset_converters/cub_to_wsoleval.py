# Copyright (c) mmwsl contributors. All rights reserved.
"""Convert the CUB-200-2011 archive to the wsolevaluation metadata layout.

Example::

    python tools/dataset_converters/cub_to_wsoleval.py \\
        data/CUB_200_2011 data/wsolevaluation/metadata/CUB

writes ``<out>/{train,test}/{image_ids,class_labels,image_sizes,
localization}.txt`` (comma-separated, no trailing newline, as in
wsolevaluation). Image ids are paths relative to ``CUB_200_2011/images``;
boxes become ``x, y, min(x + w, W - 1), min(y + h, H - 1)`` truncated to
integers, which reproduces wsolevaluation's ``metadata/CUB/test``. The result
is read by ``WSOLEvalDataset(dataset_name='CUB', ...)`` with
``data_prefix=dict(img_path='<CUB_200_2011>/images')``.

The annotations are checked first; nothing is written if anything is wrong.
"""

import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional

from mmwsl.datasets.cub import load_cub_annotations
from mmwsl.datasets.wsol_annotations import DatasetProblems


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert CUB-200-2011 to the wsolevaluation layout.'
    )
    parser.add_argument('data_root', help='the CUB_200_2011 folder')
    parser.add_argument(
        'out', help='output folder, e.g. <wsolevaluation>/metadata/CUB'
    )
    parser.add_argument(
        '--split',
        nargs='+',
        default=['train', 'test'],
        choices=['train', 'test'],
        help='splits to write (default: both)',
    )
    return parser.parse_args(argv)


def write_atomic(path: str, lines: List[str]) -> None:
    """Write ``lines`` joined by newlines (none at the end) atomically."""
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp_')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='\n') as f:
            f.write('\n'.join(lines))
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def to_wsoleval(data_list: List[dict]) -> Dict[str, List[str]]:
    """The four metadata files of one split, as lists of lines."""
    files: Dict[str, List[str]] = {
        'image_ids.txt': [],
        'class_labels.txt': [],
        'image_sizes.txt': [],
        'localization.txt': [],
    }
    for info in data_list:
        img_id = info['img_id']
        files['image_ids.txt'].append(img_id)
        files['class_labels.txt'].append(f'{img_id},{info["gt_label"]}')
        w, h = info['ori_size']
        files['image_sizes.txt'].append(f'{img_id},{w},{h}')
        for box in info['gt_bboxes']:
            coords = ','.join(str(int(v)) for v in box)
            files['localization.txt'].append(f'{img_id},{coords}')
    return files


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    converted = {}
    failed = False
    for split in args.split:
        problems = DatasetProblems(
            f'CUB-200-2011 ({split} split) at {args.data_root}'
        )
        converted[split] = load_cub_annotations(
            args.data_root, split, problems
        )
        if problems:
            print(problems.format(max_reported=None), file=sys.stderr)
            failed = True
    if failed:
        print('Nothing written.', file=sys.stderr)
        return 1
    for split, data_list in converted.items():
        for name, lines in to_wsoleval(data_list).items():
            write_atomic(osp.join(args.out, split, name), lines)
        print(
            f'{split}: {len(data_list)} images -> {osp.join(args.out, split)}'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
