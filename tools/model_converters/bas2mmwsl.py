# Copyright (c) mmwsl contributors. All rights reserved.
"""Convert an official BAS checkpoint (wpy1999/BAS or BAS-Extension, WSOL)
to an mmwsl checkpoint for ``configs/bas/bas_<arch>_*.py``.

    python tools/model_converters/bas2mmwsl.py SRC DST --arch resnet50
    python tools/model_converters/bas2mmwsl.py SRC DST --arch resnet50 \\
        --config configs/bas/bas_resnet50_cub.py   # also load it strictly

The official checkpoint may be a bare state dict or a dict holding one
under ``state_dict``/``model``; a ``module.`` prefix is stripped.
"""

import argparse
import os.path as osp
import sys

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch  # noqa: E402

from mmwsl.models.converters import convert_bas  # noqa: E402
from mmwsl.models.converters.bas import ARCHS  # noqa: E402
from mmwsl.utils import load_checkpoint_safely  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official BAS checkpoint to mmwsl.'
    )
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='output mmwsl checkpoint')
    parser.add_argument(
        '--arch',
        required=True,
        choices=ARCHS,
        help='backbone of the official model',
    )
    parser.add_argument(
        '--config',
        help='mmwsl config whose model must load the result strictly '
        '(a check; nothing is downloaded)',
    )
    return parser.parse_args(argv)


def official_state_dict(checkpoint) -> dict:
    """The state dict inside an official checkpoint file's content."""
    if not isinstance(checkpoint, dict):
        raise ValueError(
            f'Expected a dict in the checkpoint, got '
            f'{type(checkpoint).__name__}.'
        )
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def check_with_config(state_dict: dict, config: str) -> None:
    """Build the config's model (without pretrained init) and load
    ``state_dict`` strictly; raises with the key differences."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmwsl.registry import MODELS

    cfg = Config.fromfile(config)
    cfg.model.pop('init_cfg', None)
    cfg.model.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmwsl'):
        model = MODELS.build(cfg.model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    shapes = [
        f'{k}: {tuple(v.shape)} vs {tuple(expected[k].shape)}'
        for k, v in state_dict.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f'The converted checkpoint does not fit {config}: missing keys '
            f'{missing}, unexpected keys {unexpected}, shape mismatches '
            f'{shapes} (num_classes or --arch differ?).'
        )
    model.load_state_dict(state_dict, strict=True)


def main(argv=None) -> None:
    args = parse_args(argv)
    checkpoint = load_checkpoint_safely(args.src, map_location='cpu')
    state_dict = convert_bas(official_state_dict(checkpoint), args.arch)
    if args.config:
        check_with_config(state_dict, args.config)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(converted_from=osp.basename(args.src), arch=args.arch),
        ),
        args.dst,
    )
    print(
        f'Converted {len(state_dict)} tensors of {args.src} ({args.arch}) '
        f'to {args.dst}'
    )


if __name__ == '__main__':
    main()
