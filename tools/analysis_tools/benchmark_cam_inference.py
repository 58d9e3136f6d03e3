# Copyright (c) mmwsl contributors. All rights reserved.
"""Speed of multi-scale CAM inference for pseudo-labels (images/s).

Runs the CAM model of CONFIG on random W x H images (default 500 x 375, the
usual VOC size) at the pseudo-label scales (default 1.0, 0.5, 1.5, 2.0, each
with its flip), as tools/generate_pseudo_labels.py does, and reports images/s
for the network part alone and with the per-image post-processing (class
selection, normalisation, label map, compressed CAM and PNG encoding; no
disk writes). Without --checkpoint the weights are random (no download),
which does not change the speed.

Example:
    python tools/analysis_tools/benchmark_cam_inference.py \\
        configs/wsss/cam_resnet50_voc12.py --num-images 10
"""

import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmwsl.apis import init_model  # noqa: E402
from mmwsl.apis.pseudo_label import (
    DEFAULT_SCALES,  # noqa: E402
    cams_to_pseudo_label,
    encode_cams_npz,
    encode_png,
    multiscale_cams,
    normalize_cams,
)
from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.launch import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark multi-scale CAM inference'
    )
    parser.add_argument('config', help='CAM classifier config')
    parser.add_argument('--checkpoint', help='weights (default: random)')
    parser.add_argument('--num-images', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[500, 375],
        metavar=('W', 'H'),
        help='image size',
    )
    parser.add_argument('--scales', type=float, nargs='+', default=None)
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument(
        '--num-labels',
        type=int,
        default=2,
        help='image-level classes per image',
    )
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch default)',
    )
    parser.add_argument('--out', help='write the results as JSON')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    if args.checkpoint is None:  # random weights: no pretrained download
        cfg.model.get('backbone', {}).pop('init_cfg', None)
        cfg.model.pop('pretrained', None)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = init_model(cfg, args.checkpoint, device=device)
    pl_cfg = dict(cfg.get('pseudo_label_cfg') or {})
    scales = tuple(args.scales or pl_cfg.get('scales', DEFAULT_SCALES))
    flip = not args.no_flip
    stride = int(pl_cfg.get('output_stride', 16))
    num_classes = model.head.num_classes
    rng = np.random.default_rng(0)
    w, h = args.size
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for _ in range(args.warmup + args.num_images)
    ]
    keys = sorted(
        rng.choice(
            num_classes, min(args.num_labels, num_classes), replace=False
        ).tolist()
    )

    def sync():
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    net_time = post_time = 0.0
    for i, img in enumerate(images):
        sync()
        t0 = time.perf_counter()
        cams = multiscale_cams(model, [img], scales, flip, stride)
        sync()
        t1 = time.perf_counter()
        norm = normalize_cams(cams[0], keys).cpu().numpy().astype(np.float16)
        label = cams_to_pseudo_label(norm, keys, 0.25)
        encode_cams_npz(np.asarray(keys), norm)
        encode_png(label)
        t2 = time.perf_counter()
        if i >= args.warmup:
            net_time += t1 - t0
            post_time += t2 - t1
    n = args.num_images
    result = dict(
        config=args.config,
        device=str(device),
        threads=torch.get_num_threads(),
        image_size=[w, h],
        scales=list(scales),
        flip=flip,
        num_images=n,
        network_img_per_s=n / net_time,
        total_img_per_s=n / (net_time + post_time),
        post_ms_per_img=1000 * post_time / n,
    )
    print(
        f'{args.config}: {w}x{h}, scales {list(scales)}'
        f'{" + flip" if flip else ""}, {device} '
        f'({result["threads"]} threads), {n} images'
    )
    print(
        f'network: {result["network_img_per_s"]:.3f} img/s; with '
        f'post-processing: {result["total_img_per_s"]:.3f} img/s '
        f'({result["post_ms_per_img"]:.1f} ms/img)'
    )
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
