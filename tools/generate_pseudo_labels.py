# Copyright (c) mmwsl contributors. All rights reserved.
"""Multi-scale CAM inference: per-image CAMs and PNG pseudo-labels.

Runs the CAM classifier of CONFIG (weights from CKPT) on the config's
``pseudo_label_dataset`` at the scales of ``pseudo_label_cfg`` (default 1.0,
0.5, 1.5, 2.0, each with its horizontal flip), keeps each image's classes,
and writes ``cams/<name>.npz`` and ``ann_dir/<name>.png`` under --out (see
``mmwsl/apis/pseudo_label.py`` for the layout). The folder is an MMSeg
dataset: ``ann_dir`` + ``splits/<split>.txt`` + a config snippet. Each
CAM file also holds the maps at stride ``pseudo_label_cfg.strided``
(default 4, IRN's seeds for the random walk; None leaves them out).

Interrupted runs resume: images whose files exist are skipped, and files are
written atomically. A folder made with other settings is refused.

Distributed (images split across processes; gloo on CPU):
    tools/dist_generate_pseudo_labels.sh CONFIG CKPT NUM_PROCS --out DIR
"""

import argparse
import datetime
import hashlib
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmwsl.apis import init_model  # noqa: E402
from mmwsl.apis.pseudo_label import (
    DEFAULT_SCALES,  # noqa: E402
    PseudoLabelWriter,
    file_sha256,
    generate_pseudo_labels,
    image_names,
)
from mmwsl.datasets.transforms import LoadImageWithCheck  # noqa: E402
from mmwsl.registry import DATASETS  # noqa: E402
from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402
from mmwsl.utils.launch import close_distributed, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate CAMs and pseudo-labels with a CAM classifier'
    )
    parser.add_argument('config', help='CAM classifier config')
    parser.add_argument('checkpoint', help='classifier checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--split',
        default=None,
        help='name of the written split file (default: the dataset split, '
        'e.g. train_aug)',
    )
    parser.add_argument(
        '--bg-threshold',
        type=float,
        default=None,
        help='constant background score of the PNG labels (default: '
        'pseudo_label_cfg.bg_threshold, else 0.25)',
    )
    parser.add_argument(
        '--bg-alpha',
        type=float,
        default=None,
        help='use (1 - max CAM) ** ALPHA as background score instead',
    )
    parser.add_argument(
        '--ignore-thresholds',
        type=float,
        nargs=2,
        metavar=('FG', 'BG'),
        default=None,
        help='IRN confident labels: foreground at FG, background at BG, '
        '255 (ignore) in between, e.g. 0.30 0.17',
    )
    parser.add_argument(
        '--crf',
        action='store_true',
        help='refine labels with a dense CRF (needs pydensecrf2)',
    )
    parser.add_argument(
        '--scales',
        type=float,
        nargs='+',
        default=None,
        help='inference scales (default 1.0 0.5 1.5 2.0)',
    )
    parser.add_argument(
        '--no-flip', action='store_true', help='skip the flipped inputs'
    )
    parser.add_argument(
        '--no-cams', action='store_true', help='write only PNG labels'
    )
    parser.add_argument(
        '--no-labels', action='store_true', help='write only the CAMs'
    )
    parser.add_argument(
        '--cam-dtype',
        choices=['float16', 'float32'],
        default='float16',
        help='precision of the saved CAMs (labels are made from the saved '
        'values)',
    )
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images of equal size per forward pass (each with its flip)',
    )
    parser.add_argument(
        '--device',
        default=None,
        help='cpu or cuda (default: cuda when available)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch'],
        default='none',
        help='pytorch: one process per torchrun worker, images split '
        'across them',
    )
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress line'
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def init_distributed(launcher: str) -> tuple:
    """(rank, world_size, local_rank); gloo without CUDA, nccl with it."""
    if launcher == 'none':
        return 0, 1, 0
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise RuntimeError(
                f'--launcher pytorch expects the environment set by torchrun '
                f'({key} is missing); start it with '
                f'tools/dist_generate_pseudo_labels.sh.'
            )
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        backend = 'nccl'
    else:
        backend = 'gloo'
    if not dist.is_initialized():
        # Ranks wait for each other only at the start and the end; a long
        # timeout lets one rank finish its share well before another.
        dist.init_process_group(
            backend=backend, timeout=datetime.timedelta(hours=48)
        )
    return dist.get_rank(), dist.get_world_size(), local_rank


def build_samples(cfg) -> tuple:
    if 'pseudo_label_dataset' not in cfg:
        raise KeyError(
            f'{cfg.filename} has no pseudo_label_dataset entry: '
            f'the images (with image-level labels) to label.'
        )
    with DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', 'mmwsl')
    ):
        dataset = DATASETS.build(cfg.pseudo_label_dataset)
    classes = list(dataset.metainfo.get('classes') or [])
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'gt_label' not in info:
            raise KeyError(
                f'Sample {i} ({info.get("img_path")}) of the '
                f'pseudo-label dataset has no gt_label.'
            )
        labels = info['gt_label']
        labels = (
            [int(labels)]
            if isinstance(labels, int)
            else [int(x) for x in labels]
        )
        bad = [x for x in labels if not 0 <= x < len(classes)]
        if bad:
            raise ValueError(
                f'{info["img_path"]}: class ids {bad} are out '
                f'of range for {len(classes)} classes.'
            )
        samples.append(dict(img_path=info['img_path'], gt_label=labels))
    split = getattr(dataset, 'split', None) or 'train'
    return samples, classes, split


def main(argv=None):
    args = parse_args(argv)
    if args.no_cams and args.no_labels:
        raise SystemExit('--no-cams and --no-labels leave nothing to write.')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    rank, world_size, local_rank = init_distributed(args.launcher)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    pl_cfg = dict(cfg.get('pseudo_label_cfg') or {})

    samples, classes, split = build_samples(cfg)
    img_root, names, img_suffix = image_names([s['img_path'] for s in samples])
    scales = tuple(args.scales or pl_cfg.get('scales', DEFAULT_SCALES))
    flip = not args.no_flip and pl_cfg.get('flip', True)
    output_stride = int(pl_cfg.get('output_stride', 16))
    cam_key = pl_cfg.get('cam_key', 'cams')
    strided = pl_cfg.get('strided', 4)
    label_cfg = None
    if not args.no_labels:
        label_cfg = dict(
            bg_threshold=(
                args.bg_threshold
                if args.bg_threshold is not None
                else pl_cfg.get('bg_threshold', 0.25)
            ),
            bg_alpha=(
                args.bg_alpha
                if args.bg_alpha is not None
                else pl_cfg.get('bg_alpha')
            ),
            ignore_thresholds=(
                args.ignore_thresholds or pl_cfg.get('ignore_thresholds')
            ),
            crf=(
                dict(pl_cfg.get('crf') or {})
                if args.crf or pl_cfg.get('crf')
                else None
            ),
        )
    listing = hashlib.sha256(
        '\n'.join(
            f'{n} {s["gt_label"]}' for n, s in zip(names, samples)
        ).encode()
    ).hexdigest()
    fingerprint = dict(
        model=cfg.model.to_dict(),
        checkpoint_sha256=file_sha256(args.checkpoint),
        scales=scales,
        flip=flip,
        output_stride=output_stride,
        cam_key=cam_key,
        images=listing,
        num_images=len(samples),
    )
    writer = PseudoLabelWriter(
        args.out,
        fingerprint,
        classes,
        img_root,
        img_suffix,
        split=args.split or split,
        label_cfg=label_cfg,
        save_cams=not args.no_cams,
        cam_dtype=args.cam_dtype,
        info=dict(
            gt_dir=cfg.get('pseudo_label_gt_dir'), num_classes=len(classes) + 1
        ),
        strided=None if strided is None else int(strided),
    )

    # Refuse a folder of other settings before any work or write.
    writer.check_folder()

    if args.device is None:
        device = f'cuda:{local_rank}' if torch.cuda.is_available() else 'cpu'
    else:
        device = args.device
    model = init_model(cfg, args.checkpoint, device=device)

    if hasattr(model, 'num_classes') and model.num_classes != len(classes):
        raise ValueError(
            f'The model has {model.num_classes} classes but '
            f'the dataset {len(classes)}.'
        )
    if rank == 0:
        writer.prepare()
    if world_size > 1:
        dist.barrier()

    loader = LoadImageWithCheck()
    stats = generate_pseudo_labels(
        model,
        samples,
        names,
        writer,
        load_image=lambda p: loader(dict(img_path=p))['img'],
        scales=scales,
        flip=flip,
        output_stride=output_stride,
        cam_key=cam_key,
        batch_size=args.batch_size,
        rank=rank,
        world_size=world_size,
        progress=not args.no_progress and rank == 0,
    )
    if world_size > 1:
        dist.barrier()
    if rank == 0:
        missing = writer.finalize(names)
        if missing:
            raise RuntimeError(
                f'{len(missing)} images have no output (e.g. {missing[0]}); '
                f'run the command again to complete the folder.'
            )
        print(
            f'Wrote {stats["done"]} images on rank 0 and skipped '
            f'{stats["skipped"]} finished ones; {len(names)} images in '
            f'{writer.out_dir}.'
        )
        if label_cfg is not None:
            print(
                f'MMSeg dataset: ann_dir={osp.join(writer.out_dir, "ann_dir")}'
                f' ann_file={writer.split_file} img_dir={img_root} '
                f'img_suffix={img_suffix}; config snippet: '
                f'{osp.join(writer.out_dir, "pseudo_label_dataset.py")}'
            )
    close_distributed()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
