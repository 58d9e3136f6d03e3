# Copyright (c) mmwsl contributors. All rights reserved.
"""IR labels: confident foreground/background labels from seeds for IRN.

IRN's ``cam_to_ir_label`` (``specs/bas.md`` 5.3): the seeds are labelled
twice, with a high constant background score ``fg_threshold`` (0.30: only
confident foreground survives) and a low one ``bg_threshold`` (0.17: only
confident background stays background); each labelling is refined with a
dense CRF whose unary comes from the *labels* (probability ``gt_prob`` for
the label, the rest shared by the other labels); then

* the foreground label where the first labelling is foreground,
* 0 where both labellings are background,
* 255 (unknown) elsewhere.
"""

import glob
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from mmwsl.evaluation.functional.pseudo_label import check_cams

from .pseudo_label import (
    IGNORE_INDEX,
    PseudoLabelWriter,
    dense_crf,
    encode_png,
    write_bytes_atomic,
)

# IRN ``imutils.crf_inference_label`` defaults.
IRN_CRF = dict(
    iters=10,
    gt_prob=0.7,
    gauss_sxy=3,
    gauss_compat=3,
    bilateral_sxy=50,
    bilateral_srgb=5,
    bilateral_compat=10,
)


def crf_label_inference(
    image: np.ndarray,
    labels: np.ndarray,
    num_labels: int,
    iters: int = 10,
    gt_prob: float = 0.7,
    **pairwise,
) -> np.ndarray:
    """Dense CRF refinement of a hard label map (IRN's
    ``crf_inference_label``).

    Args:
        image: ``(H, W, 3)`` uint8 RGB image.
        labels: ``(H, W)`` labels in ``[0, num_labels)``.
        num_labels: number of labels.
        iters: mean-field iterations.
        gt_prob: probability given to each pixel's label; the other labels
            share ``1 - gt_prob`` (unary ``-log p``, as pydensecrf's
            ``unary_from_labels`` without an "unsure" label).
        pairwise: Gaussian / bilateral settings of :func:`dense_crf`.

    Returns:
        np.ndarray: ``(H, W)`` int64 refined labels.
    """
    labels = np.asarray(labels, np.int64)
    if num_labels < 2:
        return np.zeros_like(labels)
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob must be in (0, 1), got {gt_prob}.')
    probs = np.full(
        (num_labels,) + labels.shape,
        (1 - gt_prob) / (num_labels - 1),
        np.float32,
    )
    np.put_along_axis(probs, labels[None], gt_prob, axis=0)
    return dense_crf(image, probs, iters=iters, **pairwise).argmax(0)


def make_ir_label(
    cams,
    keys: Sequence[int],
    image: Optional[np.ndarray] = None,
    fg_threshold: float = 0.30,
    bg_threshold: float = 0.17,
    crf: Optional[dict] = IRN_CRF,
) -> np.ndarray:
    """IR label map of one image.

    Args:
        cams: ``(K, H, W)`` normalised seeds of the image's classes.
        keys: their K class indices (0-based).
        image: ``(H, W, 3)`` uint8 RGB image (needed with ``crf``).
        fg_threshold: background score of the foreground-confident map.
        bg_threshold: background score of the background-confident map.
        crf: :data:`IRN_CRF`-style settings, or None for no CRF.

    Returns:
        np.ndarray: ``(H, W)`` uint8, 0 background, ``c + 1`` class c, 255
        unknown.
    """
    cams, keys = check_cams(cams, keys)
    if not fg_threshold > bg_threshold:
        raise ValueError(
            f'fg_threshold ({fg_threshold}) must exceed bg_threshold '
            f'({bg_threshold}).'
        )
    lut = np.concatenate([[0], keys + 1])
    cams = cams.astype(np.float32)

    def label(threshold: float) -> np.ndarray:
        padded = np.concatenate(
            [np.full((1,) + cams.shape[1:], threshold, np.float32), cams]
        )
        best = padded.argmax(0)
        if crf is not None and len(keys):
            if image is None:
                raise ValueError('The CRF of the IR labels needs the image.')
            best = crf_label_inference(image, best, len(lut), **crf)
        return lut[best]

    fg = label(fg_threshold)
    bg = label(bg_threshold)
    out = np.where(fg > 0, fg, np.where(bg == 0, 0, IGNORE_INDEX))
    return out.astype(np.uint8)


class IRLabelWriter(PseudoLabelWriter):
    """:class:`PseudoLabelWriter` whose PNGs are IR labels.

    ``label_cfg`` holds the keyword arguments of :func:`make_ir_label`
    (``fg_threshold``, ``bg_threshold``, ``crf``); the folder layout,
    fingerprint check, atomic writes and split file are the parent's.
    """

    def __init__(self, *args, label_cfg: dict, **kwargs):
        kwargs['save_cams'] = False
        super().__init__(*args, label_cfg=label_cfg, **kwargs)

    def write(self, name: str, cams, keys, image=None, bg_score=None):
        if bg_score is not None:
            raise ValueError('IR labels take no background score map.')
        if hasattr(cams, 'detach'):
            cams = cams.detach().cpu().numpy()
        cams, keys = check_cams(
            np.asarray(cams, np.float32), keys, len(self.classes) + 1, name
        )
        label = make_ir_label(cams, keys, image=image, **self.label_cfg)
        write_bytes_atomic(self.label_path(name), encode_png(label))


def read_seed_folder(
    seed_dir: str,
    img_root: Optional[str] = None,
    img_suffix: Optional[str] = None,
    classes: Optional[Sequence[str]] = None,
) -> dict:
    """What a seeds folder holds: image names and where the images are.

    ``seed_dir`` is a folder written by ``tools/generate_pseudo_labels.py``
    (its ``meta.json`` gives the classes, image folder and suffix) or a
    folder with a ``cams/`` subfolder (or plain ``*.npz`` files) of the CAM
    npz format, when ``img_root``, ``img_suffix`` and ``classes`` are given.

    Returns:
        dict: ``names`` (sorted, relative, without extension),
        ``cam_dir``, ``img_root``, ``img_suffix``, ``classes``, ``gt_dir``
        (or None) and ``fingerprint`` (the seeds' own, or None).
    """
    if not osp.isdir(seed_dir):
        raise FileNotFoundError(f'Seeds folder {seed_dir} does not exist.')
    meta = PseudoLabelWriter.read_meta(seed_dir) or {}
    fp, info = meta.get('fingerprint', {}), meta.get('info', {})
    cam_dir = osp.join(seed_dir, 'cams')
    if not osp.isdir(cam_dir):
        cam_dir = seed_dir
    names = sorted(
        osp.splitext(osp.relpath(p, cam_dir))[0]
        for p in glob.glob(osp.join(cam_dir, '**', '*.npz'), recursive=True)
    )
    if not names:
        raise FileNotFoundError(f'No .npz seed files under {cam_dir}.')
    out = dict(
        names=names,
        cam_dir=cam_dir,
        img_root=img_root or info.get('img_root'),
        img_suffix=img_suffix or fp.get('img_suffix'),
        classes=list(classes or fp.get('classes') or []),
        gt_dir=info.get('gt_dir'),
        fingerprint=fp or None,
    )
    for key, flag in (
        ('img_root', '--img-root'),
        ('img_suffix', '--img-suffix'),
        ('classes', '--classes'),
    ):
        if not out[key]:
            raise ValueError(
                f'Seeds folder {seed_dir} has no meta.json entry for '
                f'{key}; pass {flag}.'
            )
    return out
