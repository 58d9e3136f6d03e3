# Copyright (c) mmwsl contributors. All rights reserved.
"""Background cues from a trained C²AM model (spec sections 5.1-5.2).

    python tools/c2am_background_cues.py CONFIG CHECKPOINT --out-dir DIR
    python tools/c2am_background_cues.py CONFIG CHECKPOINT --out-dir DIR \\
        --images data/VOCdevkit/VOC2012/JPEGImages \\
        --list data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt

For every image: the multi-scale (0.5, 1, 1.5, 2), flipped map of the
C²AM logits (``hr_cam``), thresholded (0.3) and refined by a dense CRF
(10 iterations; needs ``pip install pydensecrf2``), written as
``DIR/<name>.png`` with 255 = foreground (the background cue is
``1 - png / 255``), and with ``--save-maps`` the map as
``DIR/maps/<name>.npy``. The settings come from the config's ``cue_cfg``
and can be overridden here. Files are written atomically; with
``--skip-existing`` finished images are skipped, so an interrupted run can
be resumed. Without ``--images`` the images of the config's training set
are used.
"""

import argparse
import io
import os
import os.path as osp
import sys
import tempfile

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmwsl.apis import init_model  # noqa: E402
from mmwsl.apis.c2am_wsss import (
    REFERENCE_SCALES,  # noqa: E402
    background_cues,
    c2am_multiscale_map,
)
from mmwsl.registry import DATASETS  # noqa: E402
from mmwsl.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write C²AM background cues (PNG, 255 = foreground).'
    )
    parser.add_argument('config', help='C²AM config')
    parser.add_argument('checkpoint', help='C²AM checkpoint')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--images', help="image folder (default: the config's training images)"
    )
    parser.add_argument(
        '--list', help='ids or relative paths, one a line, inside --images'
    )
    parser.add_argument(
        '--suffix', default='.jpg', help='appended to the ids of --list'
    )
    parser.add_argument(
        '--threshold',
        type=float,
        help='foreground threshold (default: cue_cfg, else 0.3)',
    )
    parser.add_argument(
        '--crf-iterations',
        type=int,
        help='CRF iterations, 0 = none (default: cue_cfg, else 10)',
    )
    parser.add_argument(
        '--flip-rule',
        choices=['reference', 'negate'],
        help='how a flipped polarity is applied to the '
        'logits (default: cue_cfg, else reference)',
    )
    parser.add_argument(
        '--save-maps', action='store_true', help='also save hr_cam as .npy'
    )
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='skip images whose PNG exists',
    )
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def _write_atomic(path: str, data: bytes) -> None:
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def image_paths(args, cfg) -> list:
    """The images to process."""
    if args.images:
        dataset = dict(
            type='mmwsl.ImageFolderDataset',
            data_root='',
            data_prefix=args.images,
            ann_file=args.list or '',
            suffix=args.suffix if args.list else '',
        )
    else:
        dataset = dict(cfg.train_dataloader.dataset)
        dataset['pipeline'] = []
    with DefaultScope.overwrite_default_scope('mmwsl'):
        dataset = DATASETS.build(dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def output_names(paths: list) -> list:
    """Each image's path relative to the folder common to all, without the
    extension."""
    root = osp.commonpath([osp.dirname(osp.abspath(p)) for p in paths])
    return [osp.splitext(osp.relpath(osp.abspath(p), root))[0] for p in paths]


def main(argv=None) -> None:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    model = init_model(args.config, args.checkpoint, device=args.device)
    cfg = model.cfg
    cue_cfg = dict(
        scales=REFERENCE_SCALES,
        threshold=0.3,
        crf_iterations=10,
        flip_rule='reference',
        stride=16,
    )
    cue_cfg.update(cfg.get('cue_cfg', {}))
    for key in ('threshold', 'crf_iterations', 'flip_rule'):
        if getattr(args, key) is not None:
            cue_cfg[key] = getattr(args, key)
    if not bool(model.head.polarity_checked):
        print(
            'Warning: the checkpoint has no polarity decision; the map '
            'is inverted (the reference default).'
        )
    paths = image_paths(args, cfg)
    names = output_names(paths)
    done = 0
    for path, name in zip(paths, names):
        png_path = osp.join(args.out_dir, name + '.png')
        if args.skip_existing and osp.isfile(png_path):
            continue
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'Cannot decode image file {path}.')
        hr_cam = c2am_multiscale_map(
            model,
            image,
            cue_cfg['scales'],
            flip_rule=cue_cfg['flip_rule'],
            stride=cue_cfg['stride'],
        )
        cues = background_cues(
            hr_cam,
            image[..., ::-1],
            cue_cfg['threshold'],
            cue_cfg['crf_iterations'],
        )
        if args.save_maps:
            buf = io.BytesIO()
            np.save(buf, hr_cam, allow_pickle=False)
            _write_atomic(
                osp.join(args.out_dir, 'maps', name + '.npy'), buf.getvalue()
            )
        ok, encoded = cv2.imencode('.png', cues)
        if not ok:
            raise OSError(f'PNG encoding failed for {path}.')
        _write_atomic(png_path, encoded.tobytes())
        done += 1
    print(
        f'Wrote background cues of {done} images to {args.out_dir} '
        f'(threshold {cue_cfg["threshold"]}, CRF '
        f'{cue_cfg["crf_iterations"]} iterations).'
    )


if __name__ == '__main__':
    main()
