# Copyright (c) mmwsl contributors. All rights reserved.
"""Time and peak memory of the dense and chunked feature-similarity losses
(forward + backward) on random CAM grids.

Example::

    python tools/analysis_tools/benchmark_feature_similarity.py \
        --grids 56 112 --batch-size 8 --classes 21 --device cuda

Peak memory: on CUDA the allocator's peak above the inputs; on CPU the
growth of the process's maximum resident set size, each case run in its
own process so the peaks do not mix.
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def run_case(grid, batch, classes, impl, device, repeats):
    from mmwsl.models.losses import feature_similarity_loss

    torch.manual_seed(0)
    image = torch.rand(batch, 3, grid, grid, device=device)
    probs = torch.rand(batch, classes, grid, grid, device=device)
    probs.requires_grad_()
    cuda = device.startswith('cuda')

    def step():
        loss = feature_similarity_loss(image, probs, impl=impl)
        loss.backward()
        return loss.item()

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    value = step()  # warm-up
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base
    else:
        # ru_maxrss is in KiB on Linux: growth of the peak from before the
        # warm-up step (the imports and the inputs are not counted).
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = (rss - rss0) * 1024
    return dict(
        grid=grid,
        batch=batch,
        classes=classes,
        impl=impl,
        device=device,
        loss=value,
        time_s=min(times),
        peak_mib=peak / 2**20,
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--grids', type=int, nargs='+', default=[56, 112])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument(
        '--classes',
        type=int,
        default=21,
        help='channels of the CAMs, background included',
    )
    parser.add_argument('--impls', nargs='+', default=['dense', 'chunked'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--max-dense-gib',
        type=float,
        default=24.0,
        help='skip dense cases whose B x N x N tensor '
        'alone exceeds this (they would not fit)',
    )
    parser.add_argument('--case', help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.case:  # child process: one case
        grid, impl = args.case.split(':')
        print(
            json.dumps(
                run_case(
                    int(grid),
                    args.batch_size,
                    args.classes,
                    impl,
                    args.device,
                    args.repeats,
                )
            )
        )
        return
    rows = []
    for grid in args.grids:
        for impl in args.impls:
            n = grid * grid
            pair_gib = args.batch_size * n * n * 4 / 2**30
            if impl == 'dense' and pair_gib > args.max_dense_gib:
                rows.append(
                    dict(
                        grid=grid,
                        impl=impl,
                        skipped=(
                            f'one B x N x N tensor is {pair_gib:.1f} GiB'
                        ),
                    )
                )
                continue
            cmd = [
                sys.executable,
                __file__,
                '--case',
                f'{grid}:{impl}',
                '--batch-size',
                str(args.batch_size),
                '--classes',
                str(args.classes),
                '--device',
                args.device,
                '--repeats',
                str(args.repeats),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                rows.append(
                    dict(
                        grid=grid,
                        impl=impl,
                        failed=out.stderr.strip().splitlines()[-1],
                    )
                )
                continue
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f'batch {args.batch_size}, {args.classes} channels, '
        f'device {args.device}; forward + backward'
    )
    print(
        f'{"grid":>8} {"impl":>8} {"time (s)":>10} {"peak (MiB)":>11} '
        f'{"loss":>14}'
    )
    for r in rows:
        g = f'{r["grid"]}x{r["grid"]}'
        if 'time_s' in r:
            print(
                f'{g:>8} {r["impl"]:>8} {r["time_s"]:>10.3f} '
                f'{r["peak_mib"]:>11.1f} {r["loss"]:>14.8f}'
            )
        else:
            print(f'{g:>8} {r["impl"]:>8}  {r.get("skipped") or r["failed"]}')


if __name__ == '__main__':
    main()
