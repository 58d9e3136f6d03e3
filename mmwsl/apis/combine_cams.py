# Copyright (c) mmwsl contributors. All rights reserved.
"""Combine two sets of normalised CAMs (BAS seeds + a standard CAM).

The BAS-Extension seeds add the normalised BAS maps of an image's classes
to the normalised maps of a separately trained CAM model and divide each
class map by its new ``max + 1e-5`` (``specs/bas.md`` 5.2, quirk 22).
:func:`combine_normalized_cams` does this for one image and
:func:`combine_cam_folders` for two folders written by
``tools/generate_pseudo_labels.py`` (``cams/<name>.npz`` with ``keys`` and
``cam``), writing the same layout (CAMs, PNG labels, split file) with
:class:`~mmwsl.apis.pseudo_label.PseudoLabelWriter`. The strided maps
(``strided``, IRN's seeds) are combined the same way when both folders have
them at the same stride.
"""

import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .pseudo_label import (
    META_FILE,
    Progress,
    PseudoLabelWriter,
    load_cams_npz,
)


def combine_normalized_cams(
    keys_a: np.ndarray,
    cams_a: np.ndarray,
    keys_b: np.ndarray,
    cams_b: np.ndarray,
    eps: float = 1e-5,
    name: str = '',
) -> Tuple[np.ndarray, np.ndarray]:
    """Sum two sets of maps of the same classes and renormalise each.

    Args:
        keys_a: ``(K,)`` class indices of ``cams_a``.
        cams_a: ``(K, H, W)`` normalised maps.
        keys_b: ``(K,)`` the same classes, in any order.
        cams_b: ``(K, H, W)`` their maps.
        eps: added to each class's maximum.
        name: image name for error messages.

    Returns:
        tuple: ``keys`` (sorted, int64) and ``(K, H, W)`` float32 maps
        ``(a + b) / (max_hw(a + b) + eps)``.
    """
    keys_a = np.asarray(keys_a, np.int64)
    keys_b = np.asarray(keys_b, np.int64)
    where = f' ({name})' if name else ''
    if sorted(keys_a.tolist()) != sorted(keys_b.tolist()):
        raise ValueError(
            f'The two CAM sets have different classes{where}: '
            f'{keys_a.tolist()} and {keys_b.tolist()}.'
        )
    if cams_a.shape != cams_b.shape:
        raise ValueError(
            f'The two CAM sets have different shapes{where}: '
            f'{cams_a.shape} and {cams_b.shape}.'
        )
    order_a, order_b = np.argsort(keys_a), np.argsort(keys_b)
    total = cams_a[order_a].astype(np.float32) + cams_b[order_b].astype(
        np.float32
    )
    peak = total.reshape(len(total), -1).max(1) if len(total) else total
    total = total / (peak.reshape(-1, 1, 1) + eps)
    return keys_a[order_a], total


def _cam_folder(path: str) -> Tuple[str, Optional[dict]]:
    """The ``cams`` folder of a pseudo-label folder (or ``path`` itself
    for a plain folder of ``.npz`` files) and its ``meta.json``."""
    if not osp.isdir(path):
        raise FileNotFoundError(f'CAM folder {path} does not exist.')
    meta = PseudoLabelWriter.read_meta(path)
    cams = osp.join(path, 'cams')
    return (cams if osp.isdir(cams) else path), meta


def _npz_names(folder: str) -> List[str]:
    names = []
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith('.npz') and not f.startswith('.'):
                rel = osp.relpath(osp.join(root, f), folder)
                names.append(rel[: -len('.npz')])
    return sorted(names)


def combine_cam_folders(
    dir_a: str,
    dir_b: str,
    out_dir: str,
    label_cfg: Optional[dict] = None,
    save_cams: bool = True,
    cam_dtype: str = 'float16',
    eps: float = 1e-5,
    progress: bool = True,
    names: Optional[Sequence[str]] = None,
) -> Dict[str, int]:
    """Combine the CAMs of two folders image by image into ``out_dir``.

    Both folders must hold the same images (``<name>.npz``) with the same
    classes and map sizes. The class names, image folder and split come
    from the ``meta.json`` of ``dir_a`` (else ``dir_b``), so at least one
    must be a folder written by ``tools/generate_pseudo_labels.py``.
    Interrupted runs resume; a folder made from other inputs or settings
    is refused (see :class:`PseudoLabelWriter`).

    Args:
        dir_a: first pseudo-label folder (e.g. BAS seeds).
        dir_b: second one (e.g. CAM of the same images).
        out_dir: output folder.
        label_cfg: :func:`~mmwsl.apis.cams_to_pseudo_label` settings of the
            PNG labels; None writes CAMs only.
        save_cams: write ``cams/<name>.npz``.
        cam_dtype: ``'float16'`` or ``'float32'``.
        eps: added to each class's maximum when renormalising.
        progress: print a progress line.
        names: combine only these images (each must be in both folders);
            None combines every image, and then both folders must hold the
            same images.

    Returns:
        dict: ``done``, ``skipped`` and ``total`` image counts.
    """
    (cams_a, meta_a), (cams_b, meta_b) = _cam_folder(dir_a), _cam_folder(
        dir_b
    )
    meta = meta_a or meta_b
    meta_dir = dir_a if meta_a else dir_b
    if meta is None:
        raise ValueError(
            f'Neither {dir_a} nor {dir_b} has a {META_FILE}: combine '
            f'folders written by tools/generate_pseudo_labels.py (the class '
            f'names and images come from there).'
        )
    fp_a = (meta_a or {}).get('fingerprint')
    fp_b = (meta_b or {}).get('fingerprint')
    if fp_a and fp_b and fp_a.get('classes') != fp_b.get('classes'):
        raise ValueError(
            f'{dir_a} and {dir_b} were made for different classes: '
            f'{fp_a.get("classes")} and {fp_b.get("classes")}.'
        )
    names_a, names_b = _npz_names(cams_a), _npz_names(cams_b)
    if names is not None:
        names = list(dict.fromkeys(names))
        for folder, have in ((cams_a, names_a), (cams_b, names_b)):
            missing = sorted(set(names) - set(have))
            if missing:
                raise ValueError(
                    f'{len(missing)} of the requested images have no CAM '
                    f'file in {folder} (e.g. {missing[:3]}).'
                )
        names_a = names_b = sorted(names)
    if not names_a:
        raise ValueError(f'No .npz CAM files in {cams_a}.')
    if names_a != names_b:
        only_a = sorted(set(names_a) - set(names_b))
        only_b = sorted(set(names_b) - set(names_a))
        raise ValueError(
            f'{dir_a} and {dir_b} hold different images: {len(only_a)} '
            f'only in the first (e.g. {only_a[:3]}), {len(only_b)} only in '
            f'the second (e.g. {only_b[:3]}).'
        )

    strides = [(fp or {}).get('strided') for fp in (fp_a, fp_b)]
    strided = strides[0] if strides[0] == strides[1] else None
    if strided is None and any(strides):
        print(
            f'Note: strided maps at stride {strides[0]} in {dir_a} and '
            f'{strides[1]} in {dir_b}; the combined files hold none (the '
            f'random walk then averages the full-resolution maps).'
        )
    fingerprint = meta['fingerprint']
    info = dict(meta.get('info') or {})
    writer = PseudoLabelWriter(
        out_dir,
        dict(
            combine=dict(
                a=fp_a or osp.abspath(dir_a),
                b=fp_b or osp.abspath(dir_b),
                eps=eps,
                num_images=len(names_a),
                names=None if names is None else names_a,
            )
        ),
        classes=fingerprint['classes'],
        img_root=info.get('img_root', ''),
        img_suffix=fingerprint.get('img_suffix', '.jpg'),
        split=fingerprint.get('split', 'train'),
        label_cfg=label_cfg,
        save_cams=save_cams,
        cam_dtype=cam_dtype,
        info={k: v for k, v in info.items() if k != 'img_root'},
        strided=strided,
    )
    writer.prepare()
    todo = [n for n in names_a if not writer.is_done(n)]
    bar = (
        Progress(len(names_a), len(names_a) - len(todo)) if progress else None
    )
    for name in todo:
        keys_a, a, small_a = load_cams_npz(
            osp.join(cams_a, name + '.npz'), with_strided=True)
        keys_b, b, small_b = load_cams_npz(
            osp.join(cams_b, name + '.npz'), with_strided=True)
        keys, cams = combine_normalized_cams(keys_a, a, keys_b, b, eps, name)
        small = None
        if strided is not None:
            if small_a is None or small_b is None:
                raise ValueError(
                    f'{name}.npz has no strided maps in '
                    f'{dir_a if small_a is None else dir_b}, whose '
                    f'{META_FILE} says stride {strided}; the file was not '
                    f'written with these settings.'
                )
            small = combine_normalized_cams(
                keys_a, small_a, keys_b, small_b, eps, name)[1]
        writer.write(name, cams, keys.tolist(), strided=small)
        if bar is not None:
            bar.update()
    missing = writer.finalize(_split_order(meta, meta_dir, names_a))
    if missing:
        raise RuntimeError(
            f'{len(missing)} images have no output (e.g. {missing[0]}).'
        )
    return dict(
        done=len(todo), skipped=len(names_a) - len(todo), total=len(names_a)
    )


def _split_order(meta: dict, folder: str, names: Sequence[str]) -> List[str]:
    """The names in the order of the input's split file when it lists
    exactly these images, else sorted."""
    split = (meta.get('fingerprint') or {}).get('split')
    path = osp.join(folder, 'splits', f'{split}.txt')
    if split and osp.isfile(path):
        with open(path) as f:
            listed = [line.strip() for line in f if line.strip()]
        if sorted(listed) == sorted(names):
            return listed
    return sorted(names)
