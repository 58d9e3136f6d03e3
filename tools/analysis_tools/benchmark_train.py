# Copyright (c) mmwsl contributors. All rights reserved.
"""Training speed and peak memory of any mmwsl config, on random inputs.

Builds the config's model (random initialisation: nothing is downloaded)
and optimiser, then runs full training steps (data preprocessor, forward,
loss, backward, optimiser step) on random images of the config's training
input size with random labels, and prints images/s and peak memory:
``torch.cuda.max_memory_allocated`` on GPU, the peak resident set size of
the process on CPU.

    python tools/analysis_tools/benchmark_train.py \\
        configs/bas/bas_resnet50_cub.py --batch-size 8 --iters 5
    python tools/analysis_tools/benchmark_train.py \\
        configs/bas/bas_resnet50_cub.py --device cuda --amp --channels-last
"""

import argparse
import json
import os.path as osp
import resource
import sys
import time

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

from mmwsl.registry import MODELS  # noqa: E402
from mmwsl.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark training images/s and peak memory.'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--batch-size',
        type=int,
        help="images per step (default: the config's "
        'train_dataloader.batch_size)',
    )
    parser.add_argument(
        '--input-size',
        type=int,
        help='square input side (default: from the training pipeline)',
    )
    parser.add_argument(
        '--iters', type=int, default=10, help='timed training steps'
    )
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed steps first'
    )
    parser.add_argument(
        '--device', default='auto', help="'cpu', 'cuda', 'cuda:1' or 'auto'"
    )
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (GPU only)'
    )
    parser.add_argument(
        '--amp-dtype', default='float16', choices=['float16', 'bfloat16']
    )
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='model and inputs in channels-last layout',
    )
    parser.add_argument(
        '--multi-label',
        action='store_true',
        help='random multi-hot gt_score instead of one gt_label per image',
    )
    parser.add_argument(
        '--threads', type=int, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the figures as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries',
    )
    return parser.parse_args(argv)


def input_size_of(cfg: Config) -> int:
    """Square side of the training inputs: the last crop (or resize) of the
    training pipeline, else the dataset's ``image_size``, else 224."""
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    size = None
    for step in dataset.get('pipeline') or []:
        for key in ('crop_size', 'scale'):
            value = step.get(key)
            if value is not None:
                size = value
    if size is None:
        size = dataset.get('image_size', 224)
    if isinstance(size, (tuple, list)):
        if len(set(size)) != 1:
            raise ValueError(
                f'Non-square training size {size}; pass --input-size.'
            )
        size = size[0]
    return int(size)


def num_classes_of(cfg: Config) -> int:
    for owner in (
        cfg.model.get('head'),
        cfg.model.get('data_preprocessor'),
        cfg,
    ):
        if owner is not None and owner.get('num_classes'):
            return int(owner['num_classes'])
    raise ValueError('Cannot find num_classes in the config.')


def make_batch(batch_size, size, num_classes, multi_label, device, gen):
    inputs = [
        torch.randint(
            0, 256, (3, size, size), dtype=torch.uint8, generator=gen
        ).to(device)
        for _ in range(batch_size)
    ]
    samples = []
    for _ in range(batch_size):
        sample = DataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size))
        )
        if multi_label:
            score = (torch.rand(num_classes, generator=gen) < 0.2).float()
            score[torch.randint(num_classes, (1,), generator=gen)] = 1
            sample.set_gt_score(score)
        else:
            sample.set_gt_label(
                int(torch.randint(num_classes, (1,), generator=gen))
            )
        # A box around the centre half, for models that read boxes.
        sample.set_field(
            torch.tensor([[size / 4, size / 4, size * 3 / 4, size * 3 / 4]]),
            'gt_bboxes',
        )
        samples.append(sample.to(device))
    return dict(inputs=inputs, data_samples=samples)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.device == 'auto':
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    else:
        device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda given but no GPU is available.')
    if args.amp and device.type != 'cuda':
        sys.exit(
            '--amp needs a GPU: mixed-precision training through '
            "mmengine's AmpOptimWrapper is not supported on CPU here. "
            'Drop --amp or run on a GPU.'
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    register_all_modules()
    # Quiet mmengine's per-parameter optimizer log.
    MMLogger.get_instance('benchmark_train', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    size = args.input_size or input_size_of(cfg)
    num_classes = num_classes_of(cfg)

    with DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', 'mmwsl')
    ):
        model = MODELS.build(cfg.model)
        model.to(device)
        if args.channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        optim_cfg = cfg.optim_wrapper.copy()
        if args.amp:
            optim_cfg.update(
                type='AmpOptimWrapper',
                dtype=args.amp_dtype,
                loss_scale='dynamic',
            )
        optim_wrapper = build_optim_wrapper(model, optim_cfg)

    gen = torch.Generator().manual_seed(args.seed)
    batch = make_batch(
        batch_size, size, num_classes, args.multi_label, device, gen
    )
    params = sum(p.numel() for p in model.parameters())
    rss_before = peak_rss_mib()

    def step():
        data = model.data_preprocessor(batch, True)
        if args.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last
            )
        with optim_wrapper.optim_context(model):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return loss

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    for _ in range(args.warmup):
        step()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.iters):
        loss = step()
    sync()
    elapsed = time.perf_counter() - start
    if not torch.isfinite(loss):
        print('warning: the last loss is not finite', file=sys.stderr)

    result = dict(
        config=args.config,
        device=str(device)
        if device.type == 'cpu'
        else torch.cuda.get_device_name(device),
        torch_threads=torch.get_num_threads(),
        batch_size=batch_size,
        input_size=size,
        amp=args.amp and args.amp_dtype,
        channels_last=args.channels_last,
        params_m=round(params / 1e6, 2),
        iters=args.iters,
        seconds_per_iter=round(elapsed / args.iters, 4),
        images_per_s=round(batch_size * args.iters / elapsed, 2),
    )
    if device.type == 'cuda':
        result['peak_memory_mib'] = round(
            torch.cuda.max_memory_allocated(device) / 2**20, 1
        )
        result['memory_kind'] = 'torch.cuda.max_memory_allocated'
    else:
        result['peak_memory_mib'] = round(peak_rss_mib(), 1)
        result['rss_after_build_mib'] = round(rss_before, 1)
        result['memory_kind'] = 'peak RSS of the process'
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f'{key:<{width}}  {value}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
