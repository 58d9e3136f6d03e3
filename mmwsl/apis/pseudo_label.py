# Copyright (c) mmwsl contributors. All rights reserved.
"""CAM inference for WSSS pseudo-labels and the pseudo-label writer.

The pieces, usable on their own by any WSSS method:

* :func:`multiscale_cams`: a model's class maps summed over scales and
  horizontal flips at the original resolution (IRN/BAS ``make_cam``,
  ``specs/bas.md`` 5.2).
* :func:`normalize_cams`: keep the image's classes, divide each map by its
  ``max + 1e-5``.
* :func:`cams_to_pseudo_label`: label map with a constant background score
  (or ``(1 - max)^alpha``), optional IRN-style confident labels with 255 =
  ignore, optional dense CRF with HFPL's settings (:func:`dense_crf`).
* :class:`PseudoLabelWriter`: writes per-image CAMs (``.npz``) and PNG
  labels into a folder that is an MMSeg dataset (``ann_dir`` + a split
  file), atomically (temporary file + rename) and resumably (finished
  images are skipped), and refuses a folder made with other settings.
* :func:`generate_pseudo_labels`: the loop over a dataset, split across
  distributed ranks, with a progress line in images/s.

Output folder::

    meta.json                  settings that determine the files (checked
                               on every run) and where the images are
    cams/<name>.npz            keys (K,) int64 class indices (0-based),
                               cam (K, H, W) maps in [0, 1], and with a
                               stride s, strided (K, (H - 1) // s + 1,
                               (W - 1) // s + 1) maps in [0, 1]
    ann_dir/<name>.png         uint8 labels: 0 background, c + 1 class c,
                               255 ignore
    splits/<split>.txt         the names, one per line (MMSeg ann_file)
    pseudo_label_dataset.py    config snippet pointing MMSeg at the folder

``<name>`` is the image path relative to the common folder of all images,
without its extension, as MMSeg's ``ann_file`` expects.
"""

import hashlib
import io
import json
import os
import os.path as osp
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsl.evaluation.functional.pseudo_label import (
    cams_to_label_map,
    check_cams,
)

DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)
IGNORE_INDEX = 255
FORMAT_VERSION = 1
META_FILE = 'meta.json'
SNIPPET_FILE = 'pseudo_label_dataset.py'

# HFPL ``crf_inference`` (specs/hfpl.md 4.3).
DEFAULT_CRF = dict(
    iters=10,
    gauss_sxy=3,
    gauss_compat=3,
    bilateral_sxy=80,
    bilateral_srgb=13,
    bilateral_compat=10,
)


# --------------------------------------------------------------------------
# CAM inference
# --------------------------------------------------------------------------
def _rescale(image: np.ndarray, scale: float) -> np.ndarray:
    """Bicubic rescale keeping the aspect ratio (rounded sizes)."""
    if scale == 1:
        return image
    h, w = image.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def strided_size(height: int, width: int, stride: int) -> tuple:
    """The grid of a ``stride`` (IRN's ``get_strided_size``):
    ``((height - 1) // stride + 1, (width - 1) // stride + 1)``."""
    return (height - 1) // stride + 1, (width - 1) // stride + 1


@torch.no_grad()
def multiscale_cams(
    model: nn.Module,
    images: Sequence[np.ndarray],
    scales: Sequence[float] = DEFAULT_SCALES,
    flip: bool = True,
    output_stride: int = 16,
    cam_key: str = 'cams',
    strided: Optional[int] = None,
):
    """Class maps of images of one size, summed over scales and flips.

    For each scale the images (and, with ``flip``, their mirror images)
    go through the model as one batch; every map is made non-negative,
    the flipped maps are flipped back, and each is upsampled bilinearly to
    the original size rounded up to a multiple of ``output_stride`` and
    cropped to it (IRN's ``strided_up_size``) before summing.

    With ``strided`` the maps are also upsampled directly to the grid of
    that stride, ``((H - 1) // strided + 1, (W - 1) // strided + 1)``
    (IRN's ``strided_size``, the ``cam`` seeds of ``make_cam`` at
    ``strided=4``), and summed the same way.

    Args:
        model: a model whose ``model(inputs, mode='tensor')[cam_key]`` is
            ``(B, K, h, w)``; its ``data_preprocessor`` normalises the
            inputs (colour order, mean, std).
        images: N ``(H, W, 3)`` uint8 images of one size, in the channel
            order the data preprocessor expects (BGR as loaded by mmcv).
        scales: input scales.
        flip: also run the horizontal flips.
        output_stride: the model's output stride.
        cam_key: key of the maps in the model's tensor output.
        strided: also return the maps at this stride (None: only the
            full-resolution maps).

    Returns:
        torch.Tensor | tuple: ``(N, K, H, W)`` float32 summed maps (not
        normalised), on the model's device; with ``strided`` a tuple of
        those and the ``(N, K, h, w)`` strided maps.
    """
    shapes = {img.shape for img in images}
    if len(shapes) != 1:
        raise ValueError(
            f'multiscale_cams needs images of one size, got {sorted(shapes)}.'
        )
    h, w = images[0].shape[:2]
    up = (
        -(-h // output_stride) * output_stride,
        -(-w // output_stride) * output_stride,
    )
    grid = None if strided is None else strided_size(h, w, strided)
    n = len(images)
    total = total_strided = None
    for scale in scales:
        inputs = []
        for img in images:
            x = torch.from_numpy(
                np.ascontiguousarray(_rescale(img, scale))
            ).permute(2, 0, 1)
            inputs.append(x)
        if flip:
            inputs += [x.flip(-1) for x in inputs[:n]]
        data = model.data_preprocessor(dict(inputs=inputs), False)
        out = model(data['inputs'], mode='tensor')
        if not isinstance(out, dict) or cam_key not in out:
            got = list(out) if isinstance(out, dict) else type(out)
            raise KeyError(
                f"The model's tensor output has no '{cam_key}' entry; it "
                f'gives {got}.'
            )
        maps = out[cam_key].float().clamp_min(0)
        if flip:
            maps = maps[:n] + maps[n:].flip(-1)
        if grid is not None:
            small = F.interpolate(
                maps, grid, mode='bilinear', align_corners=False
            )
            total_strided = (
                small if total_strided is None else total_strided + small
            )
        maps = F.interpolate(maps, up, mode='bilinear', align_corners=False)[
            ..., :h, :w
        ]
        total = maps if total is None else total + maps
    return total if grid is None else (total, total_strided)


def normalize_cams(
    cams: torch.Tensor, keys: Sequence[int], eps: float = 1e-5
) -> torch.Tensor:
    """Keep the maps of ``keys`` and divide each by its ``max + eps``.

    Args:
        cams: ``(K, H, W)`` non-negative maps of all classes.
        keys: the image's class indices (0-based).

    Returns:
        torch.Tensor: ``(len(keys), H, W)`` maps in ``[0, 1)`` (``[0, 1]`` once
        stored as float16).
    """
    keys = torch.as_tensor(list(keys), dtype=torch.long, device=cams.device)
    if len(keys) and (keys.min() < 0 or keys.max() >= len(cams)):
        raise ValueError(
            f'class keys {keys.tolist()} out of range for '
            f'{len(cams)} class maps.'
        )
    sel = cams[keys]
    peak = sel.flatten(1).amax(1) if len(keys) else sel.new_zeros(0)
    return sel / (peak[:, None, None] + eps)


# --------------------------------------------------------------------------
# Label maps
# --------------------------------------------------------------------------
def dense_crf(
    image: np.ndarray,
    probs: np.ndarray,
    iters: int = 10,
    gauss_sxy: float = 3,
    gauss_compat: float = 3,
    bilateral_sxy: float = 80,
    bilateral_srgb: float = 13,
    bilateral_compat: float = 10,
) -> np.ndarray:
    """Fully connected CRF refinement (HFPL's ``crf_inference`` settings).

    Needs ``pydensecrf`` (``pip install pydensecrf2``), imported only here.

    Args:
        image: ``(H, W, 3)`` uint8 RGB image.
        probs: ``(L, H, W)`` class scores in ``[0, 1]``; the unary is
            ``-log p`` (clipped at 1e-5) without normalisation, as HFPL
            does (a per-pixel constant does not change the CRF).

    Returns:
        np.ndarray: ``(L, H, W)`` float32 marginals after ``iters`` steps.
    """
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_softmax
    except ImportError as e:
        raise ImportError(
            'Dense CRF refinement needs pydensecrf, which is not installed: '
            'pip install pydensecrf2 (it provides the pydensecrf module), '
            'or run without CRF.'
        ) from e
    num_labels, h, w = probs.shape
    if image.shape[:2] != (h, w):
        raise ValueError(
            f'CRF image {image.shape[:2]} and scores {(h, w)} differ in size.'
        )
    probs = np.asarray(probs, np.float32)
    crf = dcrf.DenseCRF2D(w, h, num_labels)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    crf.addPairwiseGaussian(sxy=gauss_sxy, compat=gauss_compat)
    crf.addPairwiseBilateral(
        sxy=bilateral_sxy,
        srgb=bilateral_srgb,
        rgbim=np.ascontiguousarray(image, np.uint8),
        compat=bilateral_compat,
    )
    return np.asarray(crf.inference(iters), np.float32).reshape(
        num_labels, h, w
    )


def _label(cams: np.ndarray, keys: np.ndarray, bg, image, crf) -> np.ndarray:
    if crf is None or len(keys) == 0:
        return cams_to_label_map(cams, keys, bg)
    if image is None:
        raise ValueError('CRF refinement needs the image.')
    bg = np.broadcast_to(np.asarray(bg, np.float32), cams.shape[1:])
    probs = np.concatenate([bg[None], cams.astype(np.float32)])
    best = dense_crf(image, probs, **crf).argmax(0)
    return np.concatenate([[0], keys + 1])[best]


def cams_to_pseudo_label(
    cams,
    keys: Sequence[int],
    bg_threshold: float = 0.25,
    bg_alpha: Optional[float] = None,
    ignore_thresholds: Optional[Sequence[float]] = None,
    crf: Optional[dict] = None,
    image: Optional[np.ndarray] = None,
    bg_score: Optional[np.ndarray] = None,
) -> np.ndarray:
    """PNG-ready pseudo-label of one image.

    Args:
        cams: ``(K, H, W)`` normalised maps of the image's classes.
        keys: their K class indices (0-based).
        bg_threshold: the constant background score t (background wins
            ties).
        bg_alpha: when set, the background score is ``(1 - max_k A_k) **
            bg_alpha`` instead (SEAM/HFPL).
        ignore_thresholds: ``(fg_t, bg_t)`` with ``fg_t > bg_t`` for IRN's
            confident labels: a pixel keeps its label at ``fg_t`` when that
            is foreground, is background when it is background at ``bg_t``
            too, and 255 (ignore) otherwise. Overrides ``bg_threshold``.
        crf: dense CRF settings (:data:`DEFAULT_CRF` keys) applied to every
            labelling, or None.
        image: ``(H, W, 3)`` uint8 RGB image, needed for the CRF.
        bg_score: an ``(H, W)`` background score map (e.g. C2AM's
            background cue ``1 - saliency``) used instead of
            ``bg_threshold`` / ``bg_alpha``; not with ``ignore_thresholds``.

    Returns:
        np.ndarray: ``(H, W)`` uint8 labels, 0 background, ``c + 1`` class
        c, 255 ignore.
    """
    cams, keys = check_cams(cams, keys, 255)
    if bg_score is not None:
        bg_score = np.asarray(bg_score, np.float64)
        if bg_score.shape != cams.shape[1:]:
            raise ValueError(
                f'bg_score of shape {bg_score.shape} does not match the '
                f'maps {cams.shape[1:]}.'
            )
        if ignore_thresholds is not None:
            raise ValueError(
                'bg_score and ignore_thresholds exclude each other.'
            )
        return _label(cams, keys, bg_score, image, crf).astype(np.uint8)
    if bg_alpha is not None:
        peak = cams.max(0) if len(keys) else np.zeros(cams.shape[1:])
        bg_fixed = (1 - peak.astype(np.float64)) ** bg_alpha
    if ignore_thresholds is None:
        bg = bg_fixed if bg_alpha is not None else bg_threshold
        return _label(cams, keys, bg, image, crf).astype(np.uint8)
    fg_t, bg_t = ignore_thresholds
    if not fg_t > bg_t:
        raise ValueError(
            f'ignore_thresholds must be (fg, bg) with fg > bg, '
            f'got {tuple(ignore_thresholds)}.'
        )
    fg = _label(cams, keys, fg_t, image, crf)
    bg = _label(cams, keys, bg_t, image, crf)
    out = np.where(fg > 0, fg, np.where(bg == 0, 0, IGNORE_INDEX))
    return out.astype(np.uint8)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def _temp_path(path: str) -> str:
    folder, base = osp.split(path)
    return osp.join(folder, f'.{base}.{os.getpid()}.tmp')


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    folder and ``os.replace``: readers see the old file or the whole new
    one, and a killed writer leaves only a ``.*.tmp`` file behind."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def encode_cams_npz(
    keys: np.ndarray, cams: np.ndarray, strided: Optional[np.ndarray] = None
) -> bytes:
    """Compressed ``.npz`` bytes with ``keys``, ``cam`` and, when given,
    ``strided``; byte-identical for identical arrays (fixed zip
    timestamps, unlike ``np.savez``)."""
    arrays = [('keys', keys), ('cam', cams)]
    if strided is not None:
        arrays.append(('strided', strided))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays:
            item = io.BytesIO()
            np.lib.format.write_array(
                item, np.ascontiguousarray(arr), allow_pickle=False
            )
            info = zipfile.ZipInfo(
                f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, item.getvalue())
    return buf.getvalue()


def load_cams_npz(path: str, with_strided: bool = False) -> tuple:
    """Read a CAM file written by :class:`PseudoLabelWriter`.

    Args:
        path: the ``.npz`` file.
        with_strided: also return the strided maps (None when the file
            has none).

    Returns:
        tuple: ``keys`` (K,) int64 and ``cam`` (K, H, W) float array; with
        ``with_strided`` also ``strided`` (K, h, w) or None.

    Raises:
        ValueError: naming the file when it is unreadable or its arrays do
            not fit together.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, cams = data['keys'], data['cam']
            strided = data['strided'] if 'strided' in data.files else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f'Cannot read CAM file {path}: {e}') from None
    if keys.ndim != 1 or cams.ndim != 3 or len(keys) != len(cams):
        raise ValueError(
            f'CAM file {path}: expected keys (K,) and cam '
            f'(K, H, W), got {keys.shape} and {cams.shape}.'
        )
    if strided is not None and (
        strided.ndim != 3 or len(strided) != len(keys)
    ):
        raise ValueError(
            f'CAM file {path}: expected strided maps (K, h, w) with K = '
            f'{len(keys)}, got {strided.shape}.'
        )
    keys = keys.astype(np.int64)
    return (keys, cams, strided) if with_strided else (keys, cams)


def encode_png(label: np.ndarray) -> bytes:
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(label, np.uint8))
    if not ok:
        raise OSError('PNG encoding failed.')
    return buf.tobytes()


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(obj):
    """Config values -> JSON-friendly, deterministic values."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def image_names(img_paths: Sequence[str]) -> tuple:
    """Common image folder, per-image names and the image suffix.

    Returns:
        tuple: ``(img_root, names, suffix)`` where ``names[i]`` is
        ``img_paths[i]`` relative to ``img_root`` without its extension.
    """
    if not img_paths:
        raise ValueError('No images to label.')
    paths = [osp.abspath(p) for p in img_paths]
    root = osp.commonpath([osp.dirname(p) for p in paths])
    suffixes = {osp.splitext(p)[1] for p in paths}
    if len(suffixes) != 1:
        raise ValueError(
            f'The images have several extensions '
            f'{sorted(suffixes)}; an MMSeg split file needs one '
            f'img_suffix.'
        )
    names = [osp.splitext(osp.relpath(p, root))[0] for p in paths]
    seen = {}
    for name, path in zip(names, img_paths):
        if name in seen:
            raise ValueError(
                f'Images {seen[name]} and {path} map to the '
                f'same output name {name!r}.'
            )
        seen[name] = path
    return root, names, suffixes.pop()


class PseudoLabelWriter:
    """Writes CAMs and pseudo-labels into an MMSeg-style dataset folder.

    The folder's ``meta.json`` records a ``fingerprint``: every setting
    that determines the files (model config, checkpoint hash, scales, label
    rule, images). :meth:`prepare` creates it, or checks that an existing
    folder was made with the same fingerprint and refuses it otherwise, so
    files of two configurations never mix. Files are written atomically;
    :meth:`is_done` tells which images a previous (possibly killed) run
    finished.

    Args:
        out_dir: output folder.
        fingerprint: JSON-serialisable settings that determine the files.
        classes: the foreground class names (label ``c + 1`` is
            ``classes[c]``).
        img_root: the common image folder (see :func:`image_names`).
        img_suffix: the images' extension, e.g. ``'.jpg'``.
        split: name of the split file, e.g. ``'train_aug'``.
        label_cfg: keyword arguments of :func:`cams_to_pseudo_label`
            (``bg_threshold``, ``bg_alpha``, ``ignore_thresholds``,
            ``crf``); None writes no PNG labels.
        save_cams: write the ``.npz`` CAM files.
        cam_dtype: dtype of the saved maps (``'float16'`` halves the
            files; the PNG labels are made from the saved values, so both
            agree).
        info: extra, informational entries for ``meta.json`` (e.g. the GT
            folder for evaluation); not part of the fingerprint.
        strided: stride of the strided maps saved beside the
            full-resolution ones (IRN's seeds: 4); None saves none.
    """

    def __init__(
        self,
        out_dir: str,
        fingerprint: dict,
        classes: Sequence[str],
        img_root: str,
        img_suffix: str,
        split: str = 'train',
        label_cfg: Optional[dict] = None,
        save_cams: bool = True,
        cam_dtype: str = 'float16',
        info: Optional[dict] = None,
        strided: Optional[int] = None,
    ):
        if label_cfg is None and not save_cams:
            raise ValueError(
                'Nothing to write: no label_cfg and save_cams=False.'
            )
        if cam_dtype not in ('float16', 'float32'):
            raise ValueError(
                f"cam_dtype must be 'float16' or 'float32', not {cam_dtype!r}."
            )
        self.out_dir = osp.abspath(out_dir)
        self.classes = list(classes)
        self.img_root = osp.abspath(img_root)
        self.img_suffix = img_suffix
        self.split = split
        self.label_cfg = None if label_cfg is None else dict(label_cfg)
        if (
            self.label_cfg is not None
            and self.label_cfg.get('crf') is not None
        ):
            self.label_cfg['crf'] = {**DEFAULT_CRF, **self.label_cfg['crf']}
        self.save_cams = save_cams
        self.cam_dtype = cam_dtype
        self.strided = strided if save_cams else None
        self.fingerprint = _jsonable(
            dict(
                fingerprint,
                format=FORMAT_VERSION,
                classes=self.classes,
                img_suffix=img_suffix,
                split=split,
                label_cfg=self.label_cfg,
                save_cams=save_cams,
                cam_dtype=cam_dtype,
                **({} if self.strided is None else {'strided': self.strided}),
            )
        )
        self.info = _jsonable(dict(info or {}, img_root=self.img_root))

    # paths -------------------------------------------------------------
    def cam_path(self, name: str) -> str:
        return osp.join(self.out_dir, 'cams', name + '.npz')

    def label_path(self, name: str) -> str:
        return osp.join(self.out_dir, 'ann_dir', name + '.png')

    @property
    def split_file(self) -> str:
        return osp.join(self.out_dir, 'splits', self.split + '.txt')

    def outputs(self, name: str) -> List[str]:
        paths = []
        if self.save_cams:
            paths.append(self.cam_path(name))
        if self.label_cfg is not None:
            paths.append(self.label_path(name))
        return paths

    # folder state ------------------------------------------------------
    @staticmethod
    def read_meta(out_dir: str) -> Optional[dict]:
        path = osp.join(out_dir, META_FILE)
        if not osp.isfile(path):
            return None
        try:
            with open(path) as f:
                return json.load(f)
        except ValueError as e:
            raise ValueError(
                f'{path} is not valid JSON ({e}); this folder '
                f'was not written by mmwsl or is damaged.'
            ) from None

    def check_folder(self) -> bool:
        """Whether ``out_dir`` already holds this configuration's files.

        Raises:
            FileExistsError: when it holds files of another configuration
                or files without a ``meta.json``.
        """
        meta = self.read_meta(self.out_dir)
        if meta is None:
            if osp.isdir(self.out_dir) and os.listdir(self.out_dir):
                raise FileExistsError(
                    f'Output folder {self.out_dir} is not empty and has no '
                    f'{META_FILE}: it was not made by this tool. Choose an '
                    f'empty or new folder; nothing was changed.'
                )
            return False
        old = meta.get('fingerprint', {})
        if old != self.fingerprint:
            keys = sorted(
                k
                for k in set(old) | set(self.fingerprint)
                if old.get(k) != self.fingerprint.get(k)
            )
            detail = '; '.join(
                f'{k}: {str(old.get(k))[:80]} -> '
                f'{str(self.fingerprint.get(k))[:80]}'
                for k in keys
            )
            raise FileExistsError(
                f'Output folder {self.out_dir} holds pseudo-labels made with '
                f'other settings ({detail}). Use another --out folder (or '
                f'delete this one yourself); nothing was changed.'
            )
        return True

    def prepare(self, clean_temp: bool = True) -> None:
        """Create or adopt the folder (run on one process only)."""
        exists = self.check_folder()
        os.makedirs(self.out_dir, exist_ok=True)
        if not exists:
            self._write_json(
                osp.join(self.out_dir, META_FILE),
                dict(fingerprint=self.fingerprint, info=self.info),
            )
        if clean_temp:
            for folder, _, files in os.walk(self.out_dir):
                for f in files:
                    if f.startswith('.') and f.endswith('.tmp'):
                        os.remove(osp.join(folder, f))

    def is_done(self, name: str) -> bool:
        return all(osp.isfile(p) for p in self.outputs(name))

    # writing -----------------------------------------------------------
    def write(
        self,
        name: str,
        cams,
        keys: Sequence[int],
        image: Optional[np.ndarray] = None,
        bg_score: Optional[np.ndarray] = None,
        strided=None,
    ) -> None:
        """Write one image's files.

        Args:
            name: the image's output name (see :func:`image_names`).
            cams: ``(K, H, W)`` normalised maps of its classes (tensor or
                array).
            keys: their class indices (0-based).
            image: ``(H, W, 3)`` uint8 RGB image (for the CRF).
            bg_score: optional ``(H, W)`` background score map replacing the
                label rule's background (see :func:`cams_to_pseudo_label`).
            strided: ``(K, (H - 1) // s + 1, (W - 1) // s + 1)`` normalised
                maps at the writer's stride ``s``; required when the writer
                has one, refused otherwise.
        """
        if hasattr(cams, 'detach'):
            cams = cams.detach().cpu().numpy()
        cams, keys = check_cams(
            np.asarray(cams, np.float32), keys, len(self.classes) + 1, name
        )
        cams = cams.astype(self.cam_dtype)
        strided = self._check_strided(name, cams.shape, strided)
        if self.label_cfg is not None:
            label = cams_to_pseudo_label(
                cams, keys, image=image, bg_score=bg_score, **self.label_cfg
            )
            write_bytes_atomic(self.label_path(name), encode_png(label))
        if self.save_cams:
            write_bytes_atomic(
                self.cam_path(name), encode_cams_npz(keys, cams, strided)
            )

    def _check_strided(self, name: str, shape: tuple, strided):
        """The strided maps as the saved dtype, after checking that they
        fit the writer's stride and the full-resolution maps."""
        if self.strided is None:
            if strided is not None and self.save_cams:
                raise ValueError(
                    f'{name}: strided maps given, but this writer saves '
                    f'none (strided=None).'
                )
            return None
        grid = (shape[0], ) + strided_size(*shape[1:], self.strided)
        if strided is None:
            raise ValueError(
                f'{name}: this writer saves strided maps (stride '
                f'{self.strided}); none were given.'
            )
        if hasattr(strided, 'detach'):
            strided = strided.detach().cpu().numpy()
        strided = np.asarray(strided, np.float32)
        if strided.shape != grid:
            raise ValueError(
                f'{name}: strided maps {strided.shape} do not fit maps '
                f'{shape} at stride {self.strided} (expected {grid}).'
            )
        check_cams(strided, np.arange(shape[0]),
                   name=f'{name} (strided maps)')
        return strided.astype(self.cam_dtype)

    def finalize(self, names: Sequence[str]) -> List[str]:
        """Write the split file and the config snippet once every image is
        done (run on one process only).

        Returns:
            list: names whose files are missing (empty when complete; then
            nothing is written).
        """
        missing = [n for n in names if not self.is_done(n)]
        if missing:
            return missing
        if self.label_cfg is not None:
            write_bytes_atomic(
                self.split_file, ''.join(f'{n}\n' for n in names).encode()
            )
            write_bytes_atomic(
                osp.join(self.out_dir, SNIPPET_FILE),
                self.config_snippet().encode(),
            )
        return []

    def config_snippet(self) -> str:
        classes = ('background',) + tuple(self.classes)
        return f"""\
# MMSeg training set made of the pseudo-labels in this folder (written by
# mmwsl's tools/generate_pseudo_labels.py). Use it from a segmentation
# config, with mmwsl's or MMSeg's tools/train.py:
#
#   _base_ = ['<segmentation config>', '{osp.join(self.out_dir, SNIPPET_FILE)}']
#   train_dataloader = dict(
#       dataset=dict(
#           _delete_=True,
#           type='BaseSegDataset',  # or the dataset type of the config
#           metainfo={{{{_base_.pseudo_label_metainfo}}}},
#           data_root='',
#           data_prefix={{{{_base_.pseudo_label_data_prefix}}}},
#           ann_file={{{{_base_.pseudo_label_ann_file}}}},
#           img_suffix={{{{_base_.pseudo_label_img_suffix}}}},
#           seg_map_suffix='.png',
#           reduce_zero_label=False,
#           pipeline={{{{_base_.train_pipeline}}}}))
#
# or override a config whose training set is a single dataset with
#   --cfg-options \\
#     train_dataloader.dataset.data_prefix.seg_map_path={osp.join(self.out_dir, 'ann_dir')} \\
#     train_dataloader.dataset.ann_file={self.split_file}
pseudo_label_folder = {self.out_dir!r}
pseudo_label_data_prefix = dict(
    img_path={self.img_root!r},
    seg_map_path={osp.join(self.out_dir, 'ann_dir')!r})
pseudo_label_ann_file = {self.split_file!r}
pseudo_label_img_suffix = {self.img_suffix!r}
pseudo_label_metainfo = dict(classes={classes!r})
"""  # noqa: E501

    @staticmethod
    def _write_json(path: str, obj: dict) -> None:
        write_bytes_atomic(
            path, (json.dumps(obj, indent=1, sort_keys=True) + '\n').encode()
        )


# --------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------
class Progress:
    """One progress line with images/s and the time left (stderr)."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        label: str = '',
        stream=None,
        min_interval: float = 1.0,
    ):
        self.total, self.done, self.new = total, done, 0
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.start = time.perf_counter()
        self.last = -min_interval
        self.min_interval = min_interval

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.new / elapsed if elapsed > 0 else 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        self.new += n
        now = time.perf_counter() - self.start
        if now - self.last >= self.min_interval or self.done == self.total:
            self.last = now
            self._print()

    def _print(self) -> None:
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else float('nan')
        eta = (
            time.strftime('%H:%M:%S', time.gmtime(left))
            if np.isfinite(left)
            else '--:--:--'
        )
        line = (
            f'{self.label}[{self.done}/{self.total}] {rate:.2f} img/s, '
            f'ETA {eta}'
        )
        end = '' if self.tty and self.done < self.total else '\n'
        self.stream.write(('\r' if self.tty else '') + line + end)
        self.stream.flush()


def generate_pseudo_labels(
    model: nn.Module,
    samples: Sequence[dict],
    names: Sequence[str],
    writer: PseudoLabelWriter,
    load_image: Callable[[str], np.ndarray],
    scales: Sequence[float] = DEFAULT_SCALES,
    flip: bool = True,
    output_stride: int = 16,
    cam_key: str = 'cams',
    batch_size: int = 1,
    rank: int = 0,
    world_size: int = 1,
    progress: bool = True,
) -> Dict[str, int]:
    """Label this rank's share of ``samples`` (every ``world_size``-th
    image, starting at ``rank``), skipping images already written.

    Args:
        model: the CAM model (see :func:`multiscale_cams`), in eval mode.
        samples: dicts with ``img_path`` and ``gt_label`` (class indices).
        names: output names, one per sample.
        writer: a prepared :class:`PseudoLabelWriter`.
        load_image: path -> ``(H, W, 3)`` uint8 BGR image (as mmcv loads
            it; the model's data preprocessor converts the colour order).
        batch_size: images of one size that share a forward pass per scale.

    Returns:
        dict: ``done`` (images written now), ``skipped`` (already there)
        and ``total`` (this rank's share).
    """
    mine = list(range(rank, len(samples), world_size))
    todo = [i for i in mine if not writer.is_done(names[i])]
    bar = (
        Progress(
            len(mine),
            len(mine) - len(todo),
            label=f'rank {rank}/{world_size} ' if world_size > 1 else '',
        )
        if progress
        else None
    )
    if bar is not None and not todo:
        bar._print()
    crf = bool(writer.label_cfg and writer.label_cfg.get('crf'))

    def run(batch: List[int], images: List[np.ndarray]) -> None:
        maps = multiscale_cams(
            model, images, scales, flip, output_stride, cam_key,
            writer.strided
        )
        small = [None] * len(images)
        if writer.strided is not None:
            maps, small = maps
        for j, img, cam, cam_s in zip(batch, images, maps, small):
            keys = sorted(int(k) for k in samples[j]['gt_label'])
            writer.write(
                names[j],
                normalize_cams(cam, keys),
                keys,
                np.ascontiguousarray(img[..., ::-1]) if crf else None,
                strided=None if cam_s is None else normalize_cams(cam_s, keys),
            )
            if bar is not None:
                bar.update()

    # Read the next image in a thread while the model runs.
    with ThreadPoolExecutor(max_workers=1) as pool:

        def fetch(k):
            if k >= len(todo):
                return None
            return pool.submit(load_image, samples[todo[k]]['img_path'])

        pending = fetch(0)
        batch, images = [], []
        for k, j in enumerate(todo):
            img = pending.result()
            pending = fetch(k + 1)
            if images and (
                img.shape != images[0].shape or len(images) == batch_size
            ):
                run(batch, images)
                batch, images = [], []
            batch.append(j)
            images.append(img)
        if images:
            run(batch, images)
    return dict(done=len(todo), skipped=len(mine) - len(todo), total=len(mine))
