# Copyright (c) mmwsl contributors. All rights reserved.
"""Convert an official C²AM checkpoint (CVI-SZU/CCAM: WSOL, WSSS or CUSTOM)
to an mmwsl checkpoint for ``configs/c2am/c2am_resnet50_*.py``.

    python tools/model_converters/c2am2mmwsl.py SRC DST
    python tools/model_converters/c2am2mmwsl.py SRC DST \\
        --config configs/c2am/c2am_resnet50_cub.py   # also load it strictly

The checkpoint's polarity flag (``Flag`` in WSOL, ``flag`` in WSSS
checkpoints) becomes the model's ``head.flip`` buffer. CUSTOM checkpoints
store none: pass ``--flip true|false`` (otherwise the reference default,
flip, is kept and a warning is printed).
"""

import argparse
import os
import os.path as osp
import sys
import tempfile

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch  # noqa: E402

from mmwsl.models.converters import (
    convert_c2am,  # noqa: E402
    split_c2am_checkpoint,
)
from mmwsl.utils import load_checkpoint_safely  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official C²AM checkpoint to mmwsl.'
    )
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output mmwsl checkpoint')
    parser.add_argument(
        '--flip',
        choices=['true', 'false'],
        help="polarity to store (default: the checkpoint's flag)",
    )
    parser.add_argument(
        '--config',
        help='mmwsl config whose model must load the result strictly '
        '(a check; nothing is downloaded)',
    )
    return parser.parse_args(argv)


def check_with_config(state_dict: dict, config: str) -> None:
    """Build the config's model without pretrained weights and load
    ``state_dict`` strictly."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmwsl.registry import MODELS

    cfg = Config.fromfile(config)
    cfg.model.pop('init_cfg', None)
    cfg.model.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmwsl'):
        model = MODELS.build(cfg.model)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise ValueError(
            f'The converted checkpoint does not fit {config}:\n{e}'
        ) from None


def save_atomic(obj, path: str) -> None:
    """``torch.save`` to a temporary file, then rename into place."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def main(argv=None) -> None:
    args = parse_args(argv)
    checkpoint = load_checkpoint_safely(args.src, map_location='cpu')
    _, stored = split_c2am_checkpoint(checkpoint)
    flip = None if args.flip is None else args.flip == 'true'
    state_dict = convert_c2am(checkpoint, flip=flip)
    if args.config:
        check_with_config(state_dict, args.config)
    meta = dict(
        converted_from=osp.basename(args.src),
        polarity_flip=bool(state_dict['head.flip']),
        polarity_from_checkpoint=stored is not None and flip is None,
    )
    save_atomic(dict(state_dict=state_dict, meta=meta), args.dst)
    print(
        f'Converted {len(state_dict)} tensors of {args.src} to {args.dst} '
        f'(foreground = {"1 - P" if meta["polarity_flip"] else "P"}).'
    )


if __name__ == '__main__':
    main()
