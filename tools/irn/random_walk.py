# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN random walk: seeds + a trained IRN -> pseudo-masks.

For every seed file in --cams (CAM npz format, ``cams/<name>.npz``) the
IRN of CONFIG / CKPT predicts the class-boundary map of the image (mean
logits of the image and its flip), the seeds are taken to the stride-4
grid (the files' ``strided`` maps, IRN's ``cam``; files without them, and
``--scale`` other than 1, average the full-resolution maps over the cells),
raised to the power 1.5 and propagated by the random walk (radius 5,
beta 10, 2^8 steps), upsampled, divided by their maximum and labelled with
background score 0.22 (``specs/bas.md`` 5.3; the config's
``random_walk_cfg`` and the options below override these). ``--scale S``
(default 1, IRN) runs the IRN on the image enlarged S times (bicubic, as
``mmwsl.RandomRescale``) and the walk on its stride-4 grid, the seeds
enlarged to match, for small objects (a grid cell is 4 / S pixels); use the
scale the IRN was trained at (``random_walk_cfg.scale`` of the config).

--out becomes a pseudo-label folder like tools/generate_pseudo_labels.py
writes (``ann_dir/<name>.png``, ``splits/<split>.txt``, ``meta.json``,
``cams/<name>.npz`` with the walk's maps unless --no-cams), so
tools/analysis_tools/eval_pseudo_labels.py and MMSeg configs read it.

Example:
    python tools/irn/random_walk.py \\
        configs/irn/irn_resnet18_synthetic-wsss.py \\
        work_dirs/irn_resnet18_synthetic-wsss/epoch_3.pth \\
        --cams work_dirs/cam_resnet18_synthetic-wsss/pseudo_labels \\
        --out work_dirs/irn_resnet18_synthetic-wsss/pseudo_labels
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import cv2  # noqa: E402
import torch  # noqa: E402

from mmwsl.apis import init_model  # noqa: E402
from mmwsl.apis.ir_label import read_seed_folder  # noqa: E402
from mmwsl.apis.pseudo_label import (  # noqa: E402
    Progress,
    PseudoLabelWriter,
    file_sha256,
    load_cams_npz,
)
from mmwsl.apis.random_walk import (  # noqa: E402
    random_walk_maps,
    scaled_size,
)
from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402
from mmwsl.utils.launch import load_config  # noqa: E402

DEFAULTS = dict(
    power=1.5, radius=5, beta=10, exp_times=8, bg_threshold=0.22, scale=1.0
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Random walk of seeds with an IRN boundary map'
    )
    parser.add_argument('config', help='IRN config')
    parser.add_argument('checkpoint', help='IRN checkpoint')
    parser.add_argument(
        '--cams', required=True, help='seeds folder (cams/<name>.npz)'
    )
    parser.add_argument('--out', required=True, help='output folder')
    for key, typ in (
        ('power', float),
        ('radius', float),
        ('beta', float),
        ('exp-times', int),
        ('bg-threshold', float),
        ('scale', float),
    ):
        parser.add_argument(
            f'--{key}',
            type=typ,
            default=None,
            help=f'default: random_walk_cfg or '
            f'{DEFAULTS[key.replace("-", "_")]}',
        )
    parser.add_argument(
        '--no-cams', action='store_true', help='write only PNG labels'
    )
    parser.add_argument(
        '--cam-dtype', choices=['float16', 'float32'], default='float16'
    )
    parser.add_argument('--img-root', help='image folder (default: meta)')
    parser.add_argument('--img-suffix', help='image suffix (default: meta)')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--split', default='train', help='split file name')
    parser.add_argument('--device', default=None, help='cpu or cuda')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads'
    )
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress line'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    walk = dict(DEFAULTS)
    walk.update(cfg.get('random_walk_cfg') or {})
    for key in DEFAULTS:
        value = getattr(args, key)
        if value is not None:
            walk[key] = value
    seeds = read_seed_folder(
        args.cams, args.img_root, args.img_suffix, args.classes
    )
    names = seeds['names']
    bg_threshold = walk.pop('bg_threshold')
    writer = PseudoLabelWriter(
        args.out,
        dict(
            kind='irn_random_walk',
            model=cfg.model.to_dict(),
            checkpoint_sha256=file_sha256(args.checkpoint),
            seeds=osp.abspath(args.cams),
            walk=walk,
            num_images=len(names),
        ),
        seeds['classes'],
        seeds['img_root'],
        seeds['img_suffix'],
        split=args.split,
        label_cfg=dict(bg_threshold=bg_threshold),
        save_cams=not args.no_cams,
        cam_dtype=args.cam_dtype,
        info=dict(
            gt_dir=seeds['gt_dir'], num_classes=len(seeds['classes']) + 1
        ),
    )
    writer.check_folder()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = init_model(cfg, args.checkpoint, device=device)
    writer.prepare()

    todo = [n for n in names if not writer.is_done(n)]
    bar = None
    if not args.no_progress:
        bar = Progress(len(names), len(names) - len(todo), label='walk ')
    for name in todo:
        keys, cams, strided = load_cams_npz(
            osp.join(seeds['cam_dir'], name + '.npz'), with_strided=True)
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
        size = scaled_size(*img.shape[:2], walk['scale'])
        if size != img.shape[:2]:
            img = cv2.resize(img, size[::-1], interpolation=cv2.INTER_CUBIC)
        x = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        data = model.data_preprocessor(dict(inputs=[x]), False)
        edge = model.edge_map(data['inputs'].to(device))
        maps = random_walk_maps(
            cams, edge, stride=model.stride, strided=strided, **walk)
        writer.write(name, maps, keys)
        if bar is not None:
            bar.update()
    missing = writer.finalize(names)
    if missing:
        raise RuntimeError(
            f'{len(missing)} images have no output (e.g. {missing[0]}).'
        )
    print(
        f'Wrote {len(todo)} pseudo-masks ({len(names) - len(todo)} were '
        f'there) to {writer.out_dir}.'
    )


if __name__ == '__main__':
    with exit_on_user_error():
        main()
