# Copyright (c) mmwsl contributors. All rights reserved.
"""IR labels for IRN training from seeds (``specs/bas.md`` 5.3).

SEED_DIR holds the seeds in the CAM npz format (``cams/<name>.npz`` with
``keys`` and ``cam``), as written by tools/generate_pseudo_labels.py or
tools/combine_cams.py; its ``meta.json`` says where the images are (or pass
--img-root, --img-suffix and --classes). For each image the seeds are
labelled with background score 0.30 (confident foreground) and 0.17
(confident background), both refined by IRN's dense CRF; pixels that are
neither become 255. Output: an MMSeg-style folder (``ann_dir/<name>.png``,
``splits/<split>.txt``, ``meta.json``), written atomically and resumably.

Example:
    python tools/irn/make_ir_labels.py \\
        work_dirs/cam_resnet18_synthetic-wsss/pseudo_labels \\
        --out work_dirs/irn_resnet18_synthetic-wsss/ir_labels
"""

import argparse
import hashlib
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mmwsl.apis.ir_label import (  # noqa: E402
    IRN_CRF,
    IRLabelWriter,
    read_seed_folder,
)
from mmwsl.apis.pseudo_label import Progress, load_cams_npz  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Make IRN IR labels (confident fg / bg, 255 unknown) '
        'from seeds'
    )
    parser.add_argument('seeds', help='folder with cams/<name>.npz seeds')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--fg-threshold',
        type=float,
        default=0.30,
        help='background score of the foreground-confident labelling',
    )
    parser.add_argument(
        '--bg-threshold',
        type=float,
        default=0.17,
        help='background score of the background-confident labelling '
        '(BAS 0.17, IRN 0.05)',
    )
    parser.add_argument(
        '--no-crf', action='store_true', help='skip the dense CRF'
    )
    parser.add_argument('--img-root', help='image folder (default: meta)')
    parser.add_argument('--img-suffix', help='image suffix (default: meta)')
    parser.add_argument(
        '--classes', nargs='+', help='foreground class names (default: meta)'
    )
    parser.add_argument(
        '--split', default='train', help='name of the written split file'
    )
    parser.add_argument(
        '--workers', type=int, default=1, help='images labelled in parallel'
    )
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress line'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    seeds = read_seed_folder(
        args.seeds, args.img_root, args.img_suffix, args.classes
    )
    names = seeds['names']
    label_cfg = dict(
        fg_threshold=args.fg_threshold,
        bg_threshold=args.bg_threshold,
        crf=None if args.no_crf else dict(IRN_CRF),
    )
    fingerprint = dict(
        kind='ir_labels',
        seeds=osp.abspath(args.seeds),
        seeds_fingerprint=hashlib.sha256(
            repr(seeds['fingerprint']).encode()
        ).hexdigest(),
        num_images=len(names),
    )
    writer = IRLabelWriter(
        args.out,
        fingerprint,
        seeds['classes'],
        seeds['img_root'],
        seeds['img_suffix'],
        split=args.split,
        label_cfg=label_cfg,
        info=dict(
            gt_dir=seeds['gt_dir'], num_classes=len(seeds['classes']) + 1
        ),
    )
    writer.prepare()
    todo = [n for n in names if not writer.is_done(n)]
    bar = None
    if not args.no_progress:
        bar = Progress(len(names), len(names) - len(todo), label='IR labels ')

    def one(name: str) -> None:
        keys, cams = load_cams_npz(osp.join(seeds['cam_dir'], name + '.npz'))
        path = osp.join(seeds['img_root'], name + seeds['img_suffix'])
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(
                f'Cannot read image {path} of seed {name}.'
            )
        if img.shape[:2] != cams.shape[1:]:
            raise ValueError(
                f'Seed {name}: maps {cams.shape[1:]} and image {path} '
                f'{img.shape[:2]} differ in size.'
            )
        writer.write(name, cams, keys, np.ascontiguousarray(img[..., ::-1]))

    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for _ in pool.map(one, todo):
            if bar is not None:
                bar.update()
    missing = writer.finalize(names)
    if missing:
        raise RuntimeError(
            f'{len(missing)} images have no IR label (e.g. {missing[0]}).'
        )
    print(
        f'Wrote {len(todo)} IR labels ({len(names) - len(todo)} were there) '
        f'to {writer.out_dir}: ann_dir + {writer.split_file}.'
    )


if __name__ == '__main__':
    with exit_on_user_error():
        main()
