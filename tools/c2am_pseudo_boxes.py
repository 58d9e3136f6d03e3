# Copyright (c) mmwsl contributors. All rights reserved.
"""Export C²AM pseudo boxes for a second stage (PSOL), as the reference.

    python tools/c2am_pseudo_boxes.py CONFIG CHECKPOINT --out boxes.json
    python tools/c2am_pseudo_boxes.py CONFIG CHECKPOINT --out boxes.json \\
        --threshold 0.35

Without ``--threshold``, the threshold with the best CorLoc (continuous IoU
> 0.5, largest contour of the feature-resolution map) on the config's
validation loader is chosen, as the reference does on the test set. The
boxes are those of the training images under the config's test pipeline
(e.g. Resize 480 -> CenterCrop 448), written as one JSON object
``{image path: [x, y, w, h]}`` normalised by the resize
(``pseudo_box_cfg.resize``). The file is written atomically.
"""

import argparse
import copy
import os.path as osp
import sys

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmwsl.apis import init_model  # noqa: E402
from mmwsl.apis.c2am_wsol import (
    REFERENCE_THRESHOLDS,  # noqa: E402
    extract_pseudo_boxes,
    save_json_atomic,
    search_box_threshold,
)
from mmwsl.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export C²AM pseudo boxes of the training images.'
    )
    parser.add_argument('config', help='C²AM config')
    parser.add_argument('checkpoint', help='C²AM checkpoint')
    parser.add_argument('--out', required=True, help='output JSON file')
    parser.add_argument(
        '--threshold',
        type=float,
        help='map threshold (default: best CorLoc on the validation set)',
    )
    parser.add_argument(
        '--relative-to',
        help='store image paths relative to this folder (default: the '
        'paths the dataset gives)',
    )
    parser.add_argument(
        '--curve', help='also write the CorLoc of every threshold (JSON)'
    )
    parser.add_argument('--device', default='cpu', help='e.g. cuda:0')
    parser.add_argument('--batch-size', type=int, help='loader batch size')
    return parser.parse_args(argv)


def _loader(cfg, which: str, pipeline, batch_size):
    loader = copy.deepcopy(cfg[which])
    loader.dataset.pipeline = pipeline
    loader.dataset.pop('test_mode', None)
    loader.sampler = dict(type='DefaultSampler', shuffle=False)
    loader.persistent_workers = False
    if batch_size:
        loader.batch_size = batch_size
    return Runner.build_dataloader(loader)


def main(argv=None) -> None:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    model = init_model(args.config, args.checkpoint, device=args.device)
    cfg = model.cfg
    box_cfg = dict(
        thresholds=REFERENCE_THRESHOLDS, resize=(480, 480), clamp_overlap=True
    )
    box_cfg.update(cfg.get('pseudo_box_cfg', {}))
    if not bool(model.head.polarity_checked):
        print(
            'Warning: the checkpoint has no polarity decision; the map '
            'is 1 - P (the reference default).'
        )
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    with DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', 'mmwsl')
    ):
        threshold = args.threshold
        if threshold is None:
            val = _loader(
                cfg,
                'val_dataloader',
                cfg.val_dataloader.dataset.pipeline,
                args.batch_size,
            )
            threshold, curve = search_box_threshold(
                model, val, box_cfg['thresholds'], box_cfg['clamp_overlap']
            )
            print(
                f'Best CorLoc {curve[threshold]:.2f} at threshold {threshold}'
            )
            if args.curve:
                save_json_atomic(
                    {str(t): c for t, c in curve.items()}, args.curve
                )
        train = _loader(
            cfg, 'train_dataloader', test_pipeline, args.batch_size
        )
        boxes = extract_pseudo_boxes(
            model,
            train,
            threshold,
            resize=tuple(box_cfg['resize']),
            relative_to=args.relative_to,
            out_file=args.out,
        )
    print(
        f'Wrote {len(boxes)} pseudo boxes (threshold {threshold}) to '
        f'{args.out}'
    )


if __name__ == '__main__':
    main()
