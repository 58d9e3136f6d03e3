# Copyright (c) mmwsl contributors. All rights reserved.
"""Assemble segmentation pseudo-labels from an adversarial-erasing run.

The object region of class c in an image is the union ``M_c`` of the
regions mined for c in the accepted rounds (``specs/erasing.md`` 1.8)::

    label = c + 1  where exactly one M_c holds the pixel
          = 255    where two or more do (--conflict ignore; --conflict
                   argmax picks the class with the largest round-1 CAM)
          = 0      where no M_c holds it and the background cue says so
          = 255    otherwise

Background cues: ``--saliency-dir D --bg-threshold T`` (saliency below T;
maps ``<id>.png`` scaled to [0, 1] or ``<id>.npy`` in [0, 1]; no paper
value of T is known, so it is required), ``--background cam
--cam-threshold T`` (max over the image's classes of the round-1 CAM,
normalised by its max, below T) or ``--background none`` (every non-mined
pixel is ignored).

OUT is an MMSeg dataset folder as written by tools/generate_pseudo_labels.py
(``ann_dir/*.png``, ``splits/<split>.txt``, ``pseudo_label_dataset.py``,
``meta.json``) plus ``image_labels.json`` (the true image-level labels, for
PSL's ``mmwsl.LoadImageLevelLabels``) and ``MANIFEST.json`` (rounds and
their mining hashes, background settings, conflict rule, label counts).
An OUT made with other settings is refused; a killed run resumes.

Example:
    python tools/ae_make_pseudo_labels.py \\
        work_dirs/ae_resnet18_synthetic-wsss \\
        --out work_dirs/ae_resnet18_synthetic-wsss/pseudo_labels \\
        --background cam --cam-threshold 0.1
"""
import argparse
import hashlib
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import mmcv  # noqa: E402
import numpy as np  # noqa: E402

from mmwsl.apis.adversarial_erasing import (  # noqa: E402
    IMAGES_FILE,
    AEPseudoLabelWriter,
    RoundFiles,
    assemble_ae_label,
    done_rounds,
    load_state,
    merged_regions,
    read_done,
    read_json,
    round_dir,
    write_json_atomic,
)
from mmwsl.apis.pseudo_label import (  # noqa: E402
    Progress,
    file_sha256,
    image_names,
    load_cams_npz,
)

try:
    from mmwsl.utils.cli import exit_on_user_error
except ImportError:  # pragma: no cover
    import contextlib
    exit_on_user_error = contextlib.nullcontext


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='AE regions -> MMSeg pseudo-labels')
    parser.add_argument('root', help='AE run folder (tools/train_erasing.py)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--rounds', type=int, nargs='+',
        help='rounds to merge (default: every accepted round)')
    parser.add_argument(
        '--background', choices=['saliency', 'cam', 'none'],
        help='background cue (default: saliency with --saliency-dir)')
    parser.add_argument('--saliency-dir', help='saliency maps <id>.png/.npy')
    parser.add_argument(
        '--bg-threshold', type=float,
        help='saliency below this is background (required with saliency)')
    parser.add_argument(
        '--cam-threshold', type=float,
        help='round-1 CAM max below this is background (with cam)')
    parser.add_argument(
        '--conflict', choices=['ignore', 'argmax'], default='ignore',
        help='pixels mined for several classes: 255 or the CAM argmax')
    parser.add_argument('--split', default='train', help='split file name')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress line')
    args = parser.parse_args(argv)
    if args.background is None:
        if args.saliency_dir is None:
            parser.error('choose a background cue: --saliency-dir D '
                         '--bg-threshold T, --background cam '
                         '--cam-threshold T, or --background none')
        args.background = 'saliency'
    if args.background == 'saliency' and (args.saliency_dir is None
                                          or args.bg_threshold is None):
        parser.error('--background saliency needs --saliency-dir and '
                     '--bg-threshold (no default value is known)')
    if args.background == 'cam' and args.cam_threshold is None:
        parser.error('--background cam needs --cam-threshold')
    return args


def read_saliency(folder: str, img_id: str, shape) -> np.ndarray:
    """Saliency in [0, 1] of one image, ``(H, W)`` float."""
    npy, png = (osp.join(folder, img_id + ext) for ext in ('.npy', '.png'))
    if osp.isfile(npy):
        sal = np.load(npy, allow_pickle=False).astype(np.float64)
        path = npy
    elif osp.isfile(png):
        path = png
        sal = mmcv.imread(png, flag='unchanged', backend='cv2')
        if sal is None:
            raise ValueError(f'Cannot decode saliency map {png}.')
        if sal.ndim == 3:
            sal = sal[..., 0]
        scale = 65535.0 if sal.dtype == np.uint16 else 255.0
        sal = sal.astype(np.float64) / scale
    else:
        raise FileNotFoundError(
            f'No saliency map for image {img_id}: neither {npy} nor {png}.')
    if sal.shape != tuple(shape):
        raise ValueError(f'Saliency map {path} has size {sal.shape}, its '
                         f'image {tuple(shape)}.')
    if sal.min() < 0 or sal.max() > 1:
        raise ValueError(f'Saliency map {path} has values outside [0, 1].')
    return sal


def folder_sha(folder: str) -> str:
    """sha256 over the names and contents of the files in ``folder``."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if osp.isfile(path) and not name.startswith('.'):
            digest.update(f'{name} {file_sha256(path)}\n'.encode())
    return digest.hexdigest()


def make_labels(args) -> dict:
    root = osp.abspath(args.root)
    state = load_state(root)
    if state is None:
        raise FileNotFoundError(f'No ae_state.json in {root}; is it an AE '
                                f'run folder (tools/train_erasing.py)?')
    accepted = done_rounds(state)
    rounds = sorted(args.rounds) if args.rounds else accepted
    bad = [t for t in rounds if t not in accepted]
    if not rounds or bad:
        raise ValueError(f'Rounds {bad or rounds} are not finished in '
                         f'{root}; finished: {accepted}.')
    images = read_json(osp.join(root, IMAGES_FILE))
    samples = images['images']
    classes = images.get('classes') or [
        f'class{i}' for i in range(1 + max(max(s['labels'], default=0)
                                           for s in samples))]
    img_root, names, suffix = image_names([s['img_path'] for s in samples])
    cam_files = RoundFiles(round_dir(root, 1))
    need_cams = args.background == 'cam' or args.conflict == 'argmax'
    if need_cams and not osp.isdir(osp.join(cam_files.dir, 'cams')):
        raise FileNotFoundError(
            f'--background cam / --conflict argmax need the round-1 CAMs in '
            f'{osp.join(cam_files.dir, "cams")} (mining save_cams).')
    label_cfg = dict(
        rounds=rounds,
        mining={str(t): read_done(round_dir(root, t))['files_sha']
                for t in rounds},
        background=args.background, conflict=args.conflict,
        bg_threshold=args.bg_threshold if args.background == 'saliency'
        else None,
        cam_threshold=args.cam_threshold if args.background == 'cam'
        else None,
        saliency_sha=folder_sha(args.saliency_dir)
        if args.background == 'saliency' else None)
    writer = AEPseudoLabelWriter(
        args.out, dict(ae_cfg_sha=state['cfg_sha'],
                       dataset_sha=state['dataset_sha']),
        classes, img_root, suffix, split=args.split, label_cfg=label_cfg,
        info=dict(gt_dir=images.get('gt_dir'),
                  num_classes=len(classes) + 1, ae_root=root))
    writer.prepare()
    bar = None if args.no_progress else Progress(len(samples),
                                                 label='AE labels ')
    for s, name in zip(samples, names):
        if writer.is_done(name):
            if bar is not None:
                bar.update()
            continue
        shape = mmcv.imread(s['img_path'], flag='unchanged',
                            backend='cv2').shape[:2]
        masks = merged_regions(root, rounds, s['id'], s['labels'], shape)
        cams = None
        if need_cams:
            keys, cams = load_cams_npz(cam_files.cams(s['id']))
            if keys.tolist() != sorted(s['labels']) or \
                    cams.shape[1:] != tuple(shape):
                raise ValueError(
                    f'{cam_files.cams(s["id"])} does not match image '
                    f'{s["img_path"]} (classes {keys.tolist()}, size '
                    f'{cams.shape[1:]}).')
            cams = cams.astype(np.float32)
        if args.background == 'saliency':
            bg = read_saliency(args.saliency_dir, s['id'],
                               shape) < args.bg_threshold
        elif args.background == 'cam':
            peak = cams.max(0) if len(cams) else np.zeros(shape)
            bg = peak < args.cam_threshold
        else:
            bg = None
        label = assemble_ae_label(masks, s['labels'], bg, args.conflict,
                                  cams)
        writer.write_label(name, label)
        if bar is not None:
            bar.update()
    missing = writer.finalize(names)
    if missing:
        raise RuntimeError(f'{len(missing)} labels missing, e.g. '
                           f'{missing[0]}.')
    write_json_atomic(osp.join(writer.out_dir, 'image_labels.json'),
                      {s['id']: s['labels'] for s in samples})
    counts = np.zeros(256, np.int64)
    for name in names:
        label = mmcv.imread(writer.label_path(name), flag='unchanged',
                            backend='cv2')
        counts += np.bincount(label.reshape(-1), minlength=256)
    manifest = dict(
        label_cfg, ae_root=root, num_images=len(samples),
        label_fractions={str(i): float(c / counts.sum())
                         for i, c in enumerate(counts) if c})
    write_json_atomic(osp.join(writer.out_dir, 'MANIFEST.json'), manifest)
    return manifest


def main():
    args = parse_args()
    manifest = make_labels(args)
    fr = manifest['label_fractions']
    print(f'{manifest["num_images"]} labels in {args.out} from rounds '
          f'{manifest["rounds"]}: background {fr.get("0", 0):.3f}, ignore '
          f'{fr.get("255", 0):.3f}, objects '
          f'{1 - fr.get("0", 0) - fr.get("255", 0):.3f} of the pixels')


if __name__ == '__main__':
    with exit_on_user_error():
        main()
