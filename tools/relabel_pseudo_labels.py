# Copyright (c) mmwsl contributors. All rights reserved.
"""Make new PNG pseudo-labels from the CAM files of an existing folder.

Reuses ``SRC/cams/*.npz`` written by tools/generate_pseudo_labels.py (no
network run), e.g. to apply the background threshold picked by
tools/analysis_tools/eval_pseudo_labels.py, IRN's confident labels or a dense
CRF. DST becomes an MMSeg dataset folder like SRC (``ann_dir``, split file,
config snippet); it resumes after an interruption and refuses a folder made
from other CAMs or with another label rule.

Example:
    python tools/relabel_pseudo_labels.py work_dirs/cam_voc12/pseudo_labels \\
        --out work_dirs/cam_voc12/pseudo_labels_t022 --bg-threshold 0.22
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmwsl.apis.pseudo_label import (
    Progress,
    PseudoLabelWriter,  # noqa: E402
    load_cams_npz,
)
from mmwsl.datasets.transforms import LoadImageWithCheck  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='New pseudo-labels from saved CAM files'
    )
    parser.add_argument('src', help='folder of generate_pseudo_labels.py')
    parser.add_argument('--out', required=True, help='new folder')
    parser.add_argument('--bg-threshold', type=float, default=0.25)
    parser.add_argument('--bg-alpha', type=float, default=None)
    parser.add_argument(
        '--ignore-thresholds',
        type=float,
        nargs=2,
        metavar=('FG', 'BG'),
        default=None,
    )
    parser.add_argument(
        '--crf',
        action='store_true',
        help='dense CRF refinement (needs pydensecrf2)',
    )
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    meta = PseudoLabelWriter.read_meta(args.src)
    if meta is None:
        raise FileNotFoundError(
            f'{args.src} has no meta.json: not a folder '
            f'of tools/generate_pseudo_labels.py.'
        )
    fp, info = meta['fingerprint'], meta['info']
    if not fp.get('save_cams'):
        raise ValueError(
            f'{args.src} holds no CAM files (made with --no-cams).'
        )
    split_file = osp.join(args.src, 'splits', f'{fp["split"]}.txt')
    if osp.isfile(split_file):
        with open(split_file) as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        raise FileNotFoundError(
            f'{split_file} not found: the source run is incomplete; finish it '
            f'first (run its command again).'
        )
    label_cfg = dict(
        bg_threshold=args.bg_threshold,
        bg_alpha=args.bg_alpha,
        ignore_thresholds=args.ignore_thresholds,
        crf={} if args.crf else None,
    )
    keep = (
        'model',
        'checkpoint_sha256',
        'scales',
        'flip',
        'output_stride',
        'cam_key',
        'images',
        'num_images',
        'cam_dtype',
    )
    fingerprint = dict(
        {k: fp.get(k) for k in keep}, source=osp.abspath(args.src)
    )
    writer = PseudoLabelWriter(
        args.out,
        fingerprint,
        fp['classes'],
        info['img_root'],
        fp['img_suffix'],
        split=fp['split'],
        label_cfg=label_cfg,
        save_cams=False,
        cam_dtype=fp.get('cam_dtype', 'float16'),
        info={k: v for k, v in info.items() if k != 'img_root'},
    )
    writer.prepare()
    loader = LoadImageWithCheck()
    todo = [n for n in names if not writer.is_done(n)]
    bar = (
        None
        if args.no_progress
        else Progress(len(names), len(names) - len(todo))
    )
    for name in todo:
        keys, cams = load_cams_npz(osp.join(args.src, 'cams', name + '.npz'))
        image = None
        if args.crf:
            path = osp.join(info['img_root'], name + fp['img_suffix'])
            image = loader(dict(img_path=path))['img'][..., ::-1].copy()
        writer.write(name, cams, keys, image)
        if bar is not None:
            bar.update()
    missing = writer.finalize(names)
    if missing:
        raise RuntimeError(f'{len(missing)} images have no label.')
    print(
        f'{len(todo)} labels written, {len(names) - len(todo)} kept; '
        f'{len(names)} images in {writer.out_dir}'
    )
    return dict(done=len(todo), total=len(names))


if __name__ == '__main__':
    main()
