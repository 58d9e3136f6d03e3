# Copyright (c) mmwsl contributors. All rights reserved.
"""Combine two CAM folders into one: add the normalised maps of each image's
classes and divide each class map by its new max + 1e-5.

This is how the BAS-Extension makes its WSSS seeds (BAS maps + a standard
CAM's maps, specs/bas.md 5.2). CAM_DIR_A and CAM_DIR_B are folders written
by tools/generate_pseudo_labels.py over the same images; the output folder
has the same layout (cams/<name>.npz, ann_dir/<name>.png, splits/, a config
snippet) and can be scored with tools/analysis_tools/eval_pseudo_labels.py.

Example:
    python tools/combine_cams.py work_dirs/bas/pseudo_labels \\
        work_dirs/cam/pseudo_labels --out work_dirs/bas_cam/pseudo_labels
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmwsl.apis.combine_cams import combine_cam_folders  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Add two sets of normalised CAMs and renormalise'
    )
    parser.add_argument('cam_dir_a', help='first pseudo-label folder')
    parser.add_argument('cam_dir_b', help='second pseudo-label folder')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--bg-threshold',
        type=float,
        default=0.25,
        help='constant background score of the PNG labels (default 0.25)',
    )
    parser.add_argument(
        '--ignore-thresholds',
        type=float,
        nargs=2,
        metavar=('FG', 'BG'),
        default=None,
        help='IRN confident labels instead: foreground at FG, background at '
        'BG, 255 (ignore) in between',
    )
    parser.add_argument(
        '--split',
        help='file of image names (one per line) to combine; default: all '
        'images, which both folders must hold',
    )
    parser.add_argument(
        '--no-labels', action='store_true', help='write only the CAMs'
    )
    parser.add_argument(
        '--cam-dtype',
        choices=['float16', 'float32'],
        default='float16',
        help='precision of the saved CAMs',
    )
    parser.add_argument(
        '--eps',
        type=float,
        default=1e-5,
        help='added to each class maximum when renormalising',
    )
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress line'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    label_cfg = None
    if not args.no_labels:
        label_cfg = dict(
            bg_threshold=args.bg_threshold,
            bg_alpha=None,
            ignore_thresholds=args.ignore_thresholds,
            crf=None,
        )
    names = None
    if args.split:
        if not osp.isfile(args.split):
            raise FileNotFoundError(f'Split file {args.split} not found.')
        with open(args.split) as f:
            names = [line.strip() for line in f if line.strip()]
        if not names:
            raise ValueError(f'Split file {args.split} lists no images.')
    stats = combine_cam_folders(
        args.cam_dir_a,
        args.cam_dir_b,
        args.out,
        label_cfg=label_cfg,
        cam_dtype=args.cam_dtype,
        eps=args.eps,
        progress=not args.no_progress,
        names=names,
    )
    print(
        f'Combined {stats["done"]} images (skipped {stats["skipped"]} '
        f'finished ones); {stats["total"]} images in {osp.abspath(args.out)}.'
    )


if __name__ == '__main__':
    with exit_on_user_error():
        main()
