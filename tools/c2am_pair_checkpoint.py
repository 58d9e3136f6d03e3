# Copyright (c) mmwsl contributors. All rights reserved.
"""Merge a C²AM checkpoint and a classifier checkpoint into one checkpoint
of ``mmwsl.C2AMWithClassifier`` (``localizer.*`` + ``classifier.*``).

    python tools/c2am_pair_checkpoint.py C2AM.pth CLASSIFIER.pth PAIR.pth

Both inputs may be mmengine checkpoints (``state_dict`` inside) or bare
state dicts; the output is written atomically.
"""

import argparse
import os
import os.path as osp
import sys
import tempfile

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402

from mmwsl.utils import load_checkpoint_safely  # noqa: E402


def _state_dict(path: str) -> dict:
    checkpoint = load_checkpoint_safely(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{path} holds no state dict.')
    return {
        k[len('module.') :] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def merge(localizer: str, classifier: str) -> dict:
    """``{'localizer.' + k: v} | {'classifier.' + k: v}``."""
    state = {f'localizer.{k}': v for k, v in _state_dict(localizer).items()}
    state.update(
        {f'classifier.{k}': v for k, v in _state_dict(classifier).items()}
    )
    return state


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description='Merge a C²AM and a classifier checkpoint.'
    )
    parser.add_argument('localizer', help='C²AM checkpoint')
    parser.add_argument('classifier', help='classifier checkpoint')
    parser.add_argument('out', help='output checkpoint')
    args = parser.parse_args(argv)
    state = merge(args.localizer, args.classifier)
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(
            dict(
                state_dict=state,
                meta=dict(
                    localizer=osp.basename(args.localizer),
                    classifier=osp.basename(args.classifier),
                ),
            ),
            tmp,
        )
        os.replace(tmp, args.out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'Wrote {len(state)} tensors to {args.out}')


if __name__ == '__main__':
    main()
