# Copyright (c) mmwsl contributors. All rights reserved.
"""Refine class CAMs with C²AM background cues and score the pseudo labels
(spec section 5.4).

    python tools/c2am_refine_cams.py --cams CAM_DIR --cues CUE_DIR \\
        --gt data/VOCdevkit/VOC2012/SegmentationClass \\
        --list data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt

``CAM_DIR`` holds one file per image with the maps of its classes from a
separately trained classifier: ``<name>.npz`` with ``keys`` (K,) 0-based
class indices and ``cam`` (K, H, W) (as ``tools/generate_pseudo_labels.py``
writes them), or the reference's ``<name>.npy`` dictionaries with ``keys``
and ``hr_cam`` (pickled: only with ``--allow-pickle``, for files you
trust). Each pixel gets ``argmax([1 - cue / 255, CAM_1, ..., CAM_K])``;
the mIoU over the listed images (confusion matrix, 255 ignored, mean over
all classes with +1e-10 as the reference) is printed next to the sweep of
constant background thresholds 0.05 ... 0.75 without cues. With
``--out-dir`` the refined labels are written as PNGs (0 background,
c + 1 class c) atomically.
"""

import argparse
import os
import os.path as osp
import sys
import tempfile

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mmwsl.apis.c2am_wsss import (
    label_confusion,  # noqa: E402
    refine_with_background_cues,
)
from mmwsl.evaluation.functional import iou_from_confusion  # noqa: E402

#: The reference sweep without cues: 0.05, 0.10, ..., 0.75.
SWEEP = tuple(round(0.05 * i, 2) for i in range(1, 16))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Refine CAMs with C²AM background cues; report mIoU.'
    )
    parser.add_argument('--cams', required=True, help='CAM folder')
    parser.add_argument(
        '--cues', required=True, help='cue PNG folder (255 = foreground)'
    )
    parser.add_argument('--gt', required=True, help='GT label PNG folder')
    parser.add_argument(
        '--list', help='image ids, one a line (default: every CAM file)'
    )
    parser.add_argument('--num-classes', type=int, default=21)
    parser.add_argument('--out-dir', help='write refined labels here')
    parser.add_argument(
        '--allow-pickle',
        action='store_true',
        help='read pickled .npy CAM dictionaries',
    )
    return parser.parse_args(argv)


def load_cams(folder: str, name: str, allow_pickle: bool = False):
    """``(label keys [0, c_1 + 1, ...], cams (K, H, W))`` of one image."""
    npz, npy = osp.join(folder, name + '.npz'), osp.join(folder, name + '.npy')
    if osp.isfile(npz):
        with np.load(npz, allow_pickle=False) as data:
            keys, cams = data['keys'].astype(np.int64), data['cam']
        return np.concatenate([[0], keys + 1]), cams
    if not osp.isfile(npy):
        raise FileNotFoundError(f'No CAM file for {name} in {folder}.')
    if not allow_pickle:
        raise ValueError(
            f'{npy} is a pickled dictionary; pass '
            f'--allow-pickle if you trust it.'
        )
    data = np.load(npy, allow_pickle=True).item()
    cams = data['rw'] if 'rw' in data else data['hr_cam']
    keys = np.asarray(data['keys'], np.int64)
    if len(keys) == len(cams):  # class indices without the background
        keys = np.concatenate([[0], keys + 1])
    if 'rw' in data:  # random-walk output includes the background channel
        cams = cams[1:]
    return keys, cams


def read_png(path: str) -> np.ndarray:
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise ValueError(f'Cannot read label PNG {path}.')
    return label if label.ndim == 2 else label[..., 0]


def _write_png(path: str, label: np.ndarray) -> None:
    ok, data = cv2.imencode('.png', label.astype(np.uint8))
    if not ok:
        raise OSError(f'PNG encoding failed for {path}.')
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.list:
        with open(args.list) as f:
            names = [line.split()[0] for line in f if line.strip()]
    else:
        names = sorted(
            osp.splitext(f)[0]
            for f in os.listdir(args.cams)
            if f.endswith(('.npz', '.npy'))
        )
    c = args.num_classes
    refined = np.zeros((c, c), np.int64)
    sweep = {t: np.zeros((c, c), np.int64) for t in SWEEP}
    for name in names:
        keys, cams = load_cams(args.cams, name, args.allow_pickle)
        gt = read_png(osp.join(args.gt, name + '.png'))
        cue = read_png(osp.join(args.cues, name + '.png'))
        label = refine_with_background_cues(cams, keys, cue)
        refined += label_confusion(label, gt, c)
        for t in SWEEP:
            sweep[t] += label_confusion(
                refine_with_background_cues(cams, keys, t), gt, c
            )
        if args.out_dir:
            _write_png(osp.join(args.out_dir, name + '.png'), label)
    result = iou_from_confusion(refined, average='mean')
    scores = {
        t: iou_from_confusion(m, average='mean')['miou']
        for t, m in sweep.items()
    }
    best = max(scores, key=scores.get)
    print(
        f'{len(names)} images. mIoU with background cues: '
        f'{result["miou"]:.2f} (foreground {result["fg_miou"]:.2f})'
    )
    print(
        f'Constant background threshold: best {scores[best]:.2f} at {best}'
        f' (' + ', '.join(f'{t}: {v:.2f}' for t, v in scores.items()) + ')'
    )
    return dict(miou=result['miou'], sweep=scores)


if __name__ == '__main__':
    main()
