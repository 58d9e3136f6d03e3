# Copyright (c) mmwsl contributors. All rights reserved.
"""Score CAMs or PNG pseudo-labels against segmentation ground truth.

PRED is a folder written by tools/generate_pseudo_labels.py (its
``meta.json`` gives the classes, the split and, when the config set it, the
GT folder) or a plain folder of ``<name>.npz`` CAM files / ``<name>.png``
label maps. For CAMs the background threshold is swept (background wins
ties; best threshold picked on the evaluated set, as all WSSS codebases do);
PNG labels are scored as they are.

Reports, following ``specs/metrics.md`` section 6: mIoU per threshold with
both averaging conventions (``nanmean`` over classes with a non-empty union,
chainercv/IRN/BAS; ``mean`` over all classes with +1e-10, CCAM/HFPL), the
per-class IoU/FP/FN table at the best threshold, CCAM's over/under-activation
thresholds, and optionally HFPL's contour F-score (``--contour``; CAMs are
labelled with the constant background ``--contour-bg``, 0.25 as HFPL's
``--is_seam``). Writes ``results.json``, ``per_class_iou.csv`` and
``miou_curve.png`` to --out-dir.

Example:
    python tools/analysis_tools/eval_pseudo_labels.py \\
        work_dirs/pseudo_labels/cam_voc12 \\
        --gt-dir data/VOCdevkit/VOC2012/SegmentationClass \\
        --split data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt \\
        --sweep bas --contour --out-dir work_dirs/pseudo_labels/eval
"""

import argparse
import csv
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402

from mmwsl.apis.pseudo_label import (
    PseudoLabelWriter,  # noqa: E402
    load_cams_npz,
)
from mmwsl.datasets.wsss_labels import read_label_map  # noqa: E402
from mmwsl.evaluation.functional.contour_fscore import (  # noqa: E402
    contour_counts,
    fscore_from_counts,
)
from mmwsl.evaluation.functional.pseudo_label import (  # noqa: E402
    ThresholdSweep,
    activation_thresholds,
    cams_to_label_map,
)

SWEEPS = {
    # BAS:WSSS/run_sample.py: i / 100 for i = 20..44.
    'bas': [i / 100 for i in range(20, 45)],
    # HFPL eval_cam_*.py --curve: i / 100 for i = 0..59.
    'hfpl': [i / 100 for i in range(60)],
    # CCAM evaluate_using_background_cues.py (npy / rw modes).
    'ccam': list(np.arange(0.05, 0.80, 0.05)),
    'ccam-rw': list(np.arange(0.05, 0.50, 0.05)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate CAMs / pseudo-labels (mIoU, contour F)'
    )
    parser.add_argument(
        'pred', help='pseudo-label folder, or a folder of .npz / .png files'
    )
    parser.add_argument(
        '--gt-dir',
        help='GT label PNGs <name>.png (0 background, c + 1 class c, 255 '
        'ignore); default: the one recorded in PRED/meta.json',
    )
    parser.add_argument(
        '--split',
        help='file of the image names to score (one per line); default: '
        'the pseudo-label split, else every file in PRED',
    )
    parser.add_argument(
        '--mode',
        choices=['cam', 'png'],
        default=None,
        help='score CAMs (threshold sweep) or PNG labels (default: cam '
        'when CAM files exist)',
    )
    parser.add_argument(
        '--num-classes',
        type=int,
        default=None,
        help='classes including background (default: from meta.json)',
    )
    parser.add_argument(
        '--sweep',
        choices=sorted(SWEEPS),
        default='hfpl',
        help='background-threshold preset: bas 0.20-0.44, hfpl 0.00-0.59, '
        'ccam 0.05-0.75 step 0.05, ccam-rw 0.05-0.45',
    )
    parser.add_argument(
        '--thresholds',
        type=float,
        nargs=3,
        metavar=('START', 'STOP', 'STEP'),
        help='custom sweep np.arange(START, STOP, STEP); overrides --sweep',
    )
    parser.add_argument(
        '--ignore-index', type=int, default=255, help='GT ignore label'
    )
    parser.add_argument(
        '--contour', action='store_true', help='also the contour F-score'
    )
    parser.add_argument(
        '--contour-bg',
        type=float,
        default=0.25,
        help='constant background score for CAMs in the contour F-score',
    )
    parser.add_argument('--out-dir', help='where to write the results')
    return parser.parse_args(argv)


def read_names(path: str) -> list:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Split file {path} not found.')
    with open(path) as f:
        names = [line.split()[0] for line in f if line.strip()]
    if not names:
        raise ValueError(f'Split file {path} lists no images.')
    return names


def read_label_png(path: str, what: str) -> np.ndarray:
    """Label PNG as class indices (palette PNGs give their indices)."""
    return read_label_map(path, what)


def list_files(folder: str, ext: str) -> list:
    names = []
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith(ext) and not f.startswith('.'):
                rel = osp.relpath(osp.join(root, f), folder)
                names.append(rel[: -len(ext)])
    return sorted(names)


def resolve(args) -> dict:
    meta = PseudoLabelWriter.read_meta(args.pred)
    fp = (meta or {}).get('fingerprint', {})
    info = (meta or {}).get('info', {})
    cam_dir = osp.join(args.pred, 'cams') if meta else args.pred
    png_dir = osp.join(args.pred, 'ann_dir') if meta else args.pred
    mode = args.mode
    if mode is None:
        mode = 'cam' if list_files(cam_dir, '.npz') else 'png'
    if args.split:
        names = read_names(args.split)
    elif meta and osp.isfile(
        osp.join(args.pred, 'splits', f'{fp.get("split")}.txt')
    ):
        names = read_names(
            osp.join(args.pred, 'splits', f'{fp.get("split")}.txt')
        )
    else:
        names = list_files(
            cam_dir if mode == 'cam' else png_dir,
            '.npz' if mode == 'cam' else '.png',
        )
    if not names:
        raise ValueError(f'No {mode} files to score in {args.pred}.')
    gt_dir = args.gt_dir or info.get('gt_dir')
    if not gt_dir:
        raise ValueError(
            'No GT folder: pass --gt-dir (the pseudo-label '
            'folder does not record one).'
        )
    num_classes = args.num_classes or info.get('num_classes')
    if not num_classes:
        raise ValueError(
            'Pass --num-classes (classes including '
            'background, e.g. 21 for VOC).'
        )
    classes = ['background'] + list(fp.get('classes') or [])
    if len(classes) != num_classes:
        classes = ['background'] + [f'class{i}' for i in range(1, num_classes)]
    return dict(
        mode=mode,
        names=names,
        gt_dir=gt_dir,
        cam_dir=cam_dir,
        png_dir=png_dir,
        num_classes=int(num_classes),
        classes=classes,
    )


def evaluate(args) -> dict:
    setup = resolve(args)
    mode, names, c = setup['mode'], setup['names'], setup['num_classes']
    if mode == 'cam':
        thresholds = (
            list(np.arange(*args.thresholds))
            if args.thresholds
            else SWEEPS[args.sweep]
        )
    else:
        thresholds = [0.0]  # a label map does not depend on it
    sweep = ThresholdSweep(c, thresholds, args.ignore_index)
    contour = np.zeros((c - 1, 4), np.int64) if args.contour else None
    no_gt = [
        n
        for n in names
        if not osp.isfile(osp.join(setup['gt_dir'], n + '.png'))
    ]
    if no_gt:
        raise FileNotFoundError(
            f'{len(no_gt)} of {len(names)} images have no GT mask in '
            f'{setup["gt_dir"]} (first: {no_gt[0]}.png). Pass --split with '
            f'the images that have GT (VOC: ImageSets/Segmentation/'
            f'train.txt) or the right --gt-dir.'
        )
    start = time.perf_counter()
    for name in names:
        gt_path = osp.join(setup['gt_dir'], name + '.png')
        gt = read_label_png(gt_path, 'GT mask')
        if mode == 'cam':
            path = osp.join(setup['cam_dir'], name + '.npz')
            if not osp.isfile(path):
                raise FileNotFoundError(f'CAM file {path} not found.')
            keys, cams = load_cams_npz(path)
            if cams.shape[1:] != gt.shape:
                raise ValueError(
                    f'CAM file {path} has maps of size '
                    f'{cams.shape[1:]} but its GT {gt_path} is '
                    f'{gt.shape}.'
                )
            sweep.add_cams(cams, keys, gt, name=path)
            pred = (
                cams_to_label_map(cams, keys, args.contour_bg)
                if contour is not None
                else None
            )
        else:
            path = osp.join(setup['png_dir'], name + '.png')
            pred = read_label_png(path, 'Pseudo-label')
            sweep.add_label_map(pred, gt, name=path)
        if contour is not None:
            contour += contour_counts(
                pred, gt, c, args.ignore_index, name=path
            )
    elapsed = time.perf_counter() - start

    by_mean = {a: sweep.results(a) for a in ('nanmean', 'mean')}
    picks = activation_thresholds(by_mean['nanmean'])
    best = int(np.argmax([r['miou'] for r in by_mean['nanmean']]))
    best_res = by_mean['nanmean'][best]
    best_mean = int(np.argmax([r['miou'] for r in by_mean['mean']]))
    # All-background baseline: every valid pixel predicted as class 0.
    conf = sweep.confusions()[best]
    bg_only = np.zeros_like(conf)
    bg_only[:, 0] = conf.sum(1)
    from mmwsl.evaluation.functional.pseudo_label import iou_from_confusion

    baseline = {
        a: iou_from_confusion(bg_only, a)['miou'] for a in ('nanmean', 'mean')
    }
    result = dict(
        mode=mode,
        num_images=len(names),
        num_classes=c,
        seconds=elapsed,
        curve=[
            dict(
                threshold=float(t),
                miou_nanmean=n['miou'],
                miou_mean=m['miou'],
                fg_miou=n['fg_miou'],
                fg_fp=n['fg_fp'],
            )
            for t, n, m in zip(thresholds, by_mean['nanmean'], by_mean['mean'])
        ],
        best=dict(
            threshold=float(thresholds[best]),
            miou_nanmean=best_res['miou'],
            miou_mean=by_mean['mean'][best]['miou'],
            best_threshold_mean=float(thresholds[best_mean]),
            best_miou_mean=by_mean['mean'][best_mean]['miou'],
        ),
        all_background_miou=baseline,
        per_class=[
            dict(name=name, iou=_num(iou), fp=_num(fp), fn=_num(fn))
            for name, iou, fp, fn in zip(
                setup['classes'],
                best_res['iou'],
                best_res['fp'],
                best_res['fn'],
            )
        ],
    )
    if mode == 'cam':
        result['activation_thresholds'] = picks
    if contour is not None:
        fs = fscore_from_counts(contour)
        result['contour_fscore'] = dict(
            fscore=fs['fscore'],
            per_class=dict(
                zip(setup['classes'][1:], map(float, fs['per_class']))
            ),
            bg_score=args.contour_bg if mode == 'cam' else None,
        )
    return result


def _num(x) -> float:
    return None if np.isnan(x) else float(x)


def report(result: dict) -> str:
    lines = [
        f'{result["num_images"]} images, {result["num_classes"]} '
        f'classes, mode {result["mode"]} '
        f'({result["num_images"] / max(result["seconds"], 1e-9):.1f} '
        f'img/s)'
    ]
    if result['mode'] == 'cam':
        lines.append('threshold  mIoU(nanmean)  mIoU(mean)  fg-FP')
        for r in result['curve']:
            lines.append(
                f'{r["threshold"]:9.2f}  {r["miou_nanmean"]:13.2f}'
                f'  {r["miou_mean"]:10.2f}  {r["fg_fp"]:5.2f}'
            )
    best = result['best']
    lines.append(
        f'best: mIoU {best["miou_nanmean"]:.2f} (nanmean) / '
        f'{best["miou_mean"]:.2f} (mean) at t = '
        f'{best["threshold"]:.2f}; best under the mean convention: '
        f'{best["best_miou_mean"]:.2f} at t = '
        f'{best["best_threshold_mean"]:.2f}'
    )
    if 'activation_thresholds' in result:
        a = result['activation_thresholds']
        lines.append(
            f'over-activation t = {a["over"]:.2f}, '
            f'under-activation t = {a["under"]:.2f}'
        )
    bl = result['all_background_miou']
    lines.append(
        f'all-background baseline: mIoU {bl["nanmean"]:.2f} '
        f'(nanmean) / {bl["mean"]:.2f} (mean)'
    )
    width = max(len(r['name']) for r in result['per_class'])
    lines.append(f'{"class":<{width}}    IoU     FP     FN')
    for r in result['per_class']:
        vals = [
            '   nan' if r[k] is None else f'{r[k]:6.2f}'
            for k in ('iou', 'fp', 'fn')
        ]
        lines.append(f'{r["name"]:<{width}} ' + ' '.join(vals))
    if 'contour_fscore' in result:
        lines.append(
            f'contour F-score: {result["contour_fscore"]["fscore"]:.2f}'
        )
    return '\n'.join(lines)


def save(result: dict, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    with open(osp.join(out_dir, 'per_class_iou.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class', 'iou', 'fp', 'fn'])
        for r in result['per_class']:
            writer.writerow([r['name'], r['iou'], r['fp'], r['fn']])
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    t = [r['threshold'] for r in result['curve']]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(
        t,
        [r['miou_nanmean'] for r in result['curve']],
        'o-',
        label='mIoU (nanmean)',
    )
    ax.plot(
        t,
        [r['miou_mean'] for r in result['curve']],
        's--',
        label='mIoU (mean)',
    )
    ax.axhline(
        result['all_background_miou']['nanmean'],
        color='grey',
        linestyle=':',
        label='all background',
    )
    ax.set_xlabel('background threshold')
    ax.set_ylabel('mIoU (%)')
    ax.set_title(
        f'{result["num_images"]} images, best '
        f'{result["best"]["miou_nanmean"]:.1f} at '
        f'{result["best"]["threshold"]:.2f}'
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'miou_curve.png'), dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    result = evaluate(args)
    print(report(result))
    if args.out_dir:
        save(result, args.out_dir)
        print(f'Results written to {args.out_dir}')
    return result


if __name__ == '__main__':
    main()
