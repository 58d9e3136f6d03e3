# Copyright (c) mmwsl contributors. All rights reserved.
"""Built-in synthetic datasets for WSOL and WSSS, written as real files.

Every object has a large, class-agnostic *body* (a striped ellipse whose tint
carries only a weak, noisy hint of the class) and a small, strongly
class-discriminative *part* (a saturated shape whose colour and form name the
class) placed inside the body, on a cluttered, textured background. A plain
CAM classifier needs only the part to classify, so its map fires on the part
and its box covers a fraction of the object: the partial-activation failure
that WSOL methods (BAS, C²AM, erasing) are designed to fix. The ground truth
box and mask cover the whole object (body and part).

Layout written under ``data_root`` (deterministic from ``seed``)::

    meta.json                      generator settings (written last)
    {split}.json                   [{"img", "label", "bboxes", "mask", ...}]
    images/{split}/{index:05d}.png
    masks/{split}/{index:05d}.png  WSOL: 0 background, 255 object
                                   WSSS: class index map, 0 = background,
                                   k + 1 = class k

The WSSS variant places several objects of different classes in one image
and stores per-pixel class labels and multi-hot image labels.
"""
import fcntl
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.utils import mkdir_or_exist
from mmpretrain.datasets import BaseDataset

from mmwsl.registry import DATASETS

GENERATOR_VERSION = 2

# Class-discriminative parts: (BGR colour, shape). Up to 12 classes.
_PART_COLOURS = [(40, 40, 230), (230, 60, 40), (40, 200, 40),
                 (30, 220, 230), (220, 40, 220), (230, 220, 40)]
_PART_SHAPES = ['disc', 'square', 'triangle', 'cross']
MAX_CLASSES = 12

_SPLIT_OFFSET = {'train': 0, 'val': 1, 'test': 2}


def _part_style(label: int) -> tuple:
    colour = _PART_COLOURS[label % len(_PART_COLOURS)]
    shape = _PART_SHAPES[(label + label // len(_PART_COLOURS)) %
                         len(_PART_SHAPES)]
    return colour, shape


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cluttered, textured, low-saturation background (H×W×3 uint8, BGR)."""
    base = rng.uniform(70, 170)
    low = rng.normal(0, 25, (6, 6, 1)) + rng.normal(0, 8, (6, 6, 3))
    img = base + cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    img = img + rng.normal(0, 10, (size, size, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    # Clutter: small grey/desaturated blobs and lines.
    for _ in range(rng.integers(8, 16)):
        grey = rng.uniform(30, 220)
        colour = tuple(float(np.clip(grey + rng.normal(0, 12), 0, 255))
                       for _ in range(3))
        cx, cy = rng.integers(0, size, 2)
        if rng.random() < 0.6:
            axes = tuple(int(a) for a in rng.integers(2, size // 10 + 3, 2))
            cv2.ellipse(img, (int(cx), int(cy)), axes,
                        float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            ex, ey = rng.integers(0, size, 2)
            cv2.line(img, (int(cx), int(cy)), (int(ex), int(ey)), colour,
                     int(rng.integers(1, 3)))
    return img


def _draw_object(img: np.ndarray, rng: np.random.Generator, label: int,
                 num_classes: int, scale_range: Sequence[float],
                 centre: Optional[tuple] = None) -> tuple:
    """Draw one object in place; return the boolean H×W masks of the whole
    object and of its discriminative part."""
    size = img.shape[0]
    scale = rng.uniform(*scale_range)
    ax = max(int(size * scale * rng.uniform(0.75, 1.0) / 2), 4)
    ay = max(int(size * scale * rng.uniform(0.55, 0.85) / 2), 4)
    angle = float(rng.uniform(0, 180))
    if centre is None:
        margin = max(ax, ay)
        lo, hi = min(margin, size // 2), max(size - margin, size // 2 + 1)
        centre = tuple(int(c) for c in rng.integers(lo, hi, 2))
    body = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(body, centre, (ax, ay), angle, 0, 360, 1, -1)
    body = body.astype(bool)

    # Body: brown stripes; the tint shifts weakly (and noisily) with the class.
    hint = (label / max(num_classes - 1, 1) - 0.5) * 30
    tint = np.array([60, 110, 170]) + rng.normal(0, 12, 3)
    tint[0] += hint
    tint[2] -= hint
    yy, xx = np.mgrid[:size, :size]
    theta = rng.uniform(0, np.pi)
    period = rng.uniform(4, 7)
    stripes = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi /
                     period)
    texture = tint[None, None] + 30 * stripes[..., None]
    texture = texture + rng.normal(0, 6, texture.shape)
    img[body] = np.clip(texture[body], 0, 255).astype(np.uint8)

    # Part: a small saturated shape inside the body, off-centre.
    colour, shape = _part_style(label)
    r = max(int(min(ax, ay) * rng.uniform(0.35, 0.45)), 2)
    offset = rng.uniform(0.2, 0.45) * np.array([ax, ay])
    phi = rng.uniform(0, 2 * np.pi)
    px = int(centre[0] + offset[0] * np.cos(phi))
    py = int(centre[1] + offset[1] * np.sin(phi))
    part = np.zeros_like(body, np.uint8)
    if shape == 'disc':
        cv2.circle(part, (px, py), r, 1, -1)
    elif shape == 'square':
        cv2.rectangle(part, (px - r, py - r), (px + r, py + r), 1, -1)
    elif shape == 'triangle':
        pts = np.array([[px, py - r], [px - r, py + r], [px + r, py + r]],
                       np.int32)
        cv2.fillPoly(part, [pts], 1)
    else:
        w = max(r // 3, 1)
        cv2.rectangle(part, (px - r, py - w), (px + r, py + w), 1, -1)
        cv2.rectangle(part, (px - w, py - r), (px + w, py + r), 1, -1)
    part = part.astype(bool) & body
    noise = rng.normal(0, 8, (int(part.sum()), 3))
    img[part] = np.clip(np.array(colour)[None] + noise, 0, 255).astype(
        np.uint8)
    return body, part


def _mask_box(mask: np.ndarray) -> List[float]:
    """Inclusive-corner box [x0, y0, x1, y1] of a boolean mask."""
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def _write_png(path: str, img: np.ndarray) -> None:
    if not cv2.imwrite(path, img):
        raise OSError(f'Could not write {path}')


def generate_synthetic_dataset(data_root: str,
                               num_classes: int = 4,
                               num_samples: Optional[dict] = None,
                               image_size: int = 128,
                               seed: int = 0,
                               multi_label: bool = False,
                               max_objects: int = 3) -> dict:
    """Write the synthetic dataset to ``data_root`` and return its meta.

    Generation is deterministic given the arguments. The folder is built in
    a temporary sibling and renamed into place, so an interrupted run never
    leaves a half-written dataset; concurrent callers (e.g. distributed
    ranks) wait on a lock file and reuse the finished folder.

    Args:
        data_root: Target folder.
        num_classes: Number of object classes K (at most 12).
        num_samples: Images per split, default ``{'train': 600, 'test':
            200}``.
        image_size: Side of the square images in pixels.
        seed: Random seed.
        multi_label: Write the WSSS variant (several objects per image,
            multi-hot labels, per-pixel class masks).
        max_objects: Most objects per image in the WSSS variant.
    """
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be in [1, {MAX_CLASSES}], got '
                         f'{num_classes}')
    num_samples = dict(num_samples or {'train': 600, 'test': 200})
    meta = dict(version=GENERATOR_VERSION, num_classes=num_classes,
                num_samples=num_samples, image_size=image_size, seed=seed,
                multi_label=multi_label, max_objects=max_objects)
    existing = _read_meta(data_root)
    if existing is not None:
        return _check_meta(data_root, existing, meta)

    parent = osp.dirname(osp.abspath(data_root))
    mkdir_or_exist(parent)
    with open(osp.abspath(data_root) + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = _read_meta(data_root)
        if existing is not None:  # another process finished meanwhile
            return _check_meta(data_root, existing, meta)
        if osp.exists(data_root) and os.listdir(data_root):
            raise FileExistsError(
                f'{data_root} exists and is not a synthetic dataset (no '
                f'meta.json). Use another data_root or delete the folder.')
        tmp = tempfile.mkdtemp(prefix='.synthetic-', dir=parent)
        try:
            for split, count in num_samples.items():
                _write_split(tmp, split, count, meta)
            with open(osp.join(tmp, 'meta.json'), 'w') as f:
                json.dump(meta, f, indent=1)
            if osp.exists(data_root):
                os.rmdir(data_root)
            os.replace(tmp, data_root)
        finally:
            if osp.exists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    return meta


def _check_meta(data_root: str, existing: dict, meta: dict) -> dict:
    if existing != meta:
        raise ValueError(
            f'{data_root} holds a synthetic dataset generated with other '
            f'settings ({existing}); requested {meta}. Use another data_root '
            f'or delete the folder.')
    return existing


def _read_meta(data_root: str) -> Optional[dict]:
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        meta = json.load(f)
    meta['num_samples'] = dict(meta['num_samples'])
    return meta


def _write_split(root: str, split: str, count: int, meta: dict) -> None:
    k, size = meta['num_classes'], meta['image_size']
    seed = meta['seed'] * 1000 + _SPLIT_OFFSET.get(split, 3 + len(split))
    rng = np.random.default_rng(seed)
    mkdir_or_exist(osp.join(root, 'images', split))
    mkdir_or_exist(osp.join(root, 'masks', split))
    records = []
    for i in range(count):
        img = _background(rng, size)
        name = f'{i:05d}.png'
        record = dict(img=f'images/{split}/{name}',
                      mask=f'masks/{split}/{name}')
        if not meta['multi_label']:
            label = int(i % k if split == 'train' else rng.integers(k))
            obj, part = _draw_object(img, rng, label, k, (0.45, 0.75))
            record.update(label=label, bboxes=[_mask_box(obj)],
                          part_bboxes=[_mask_box(part)])
            mask = obj.astype(np.uint8) * 255
        else:
            n = int(rng.integers(1, min(meta['max_objects'], k) + 1))
            labels = rng.choice(k, n, replace=False)
            mask = np.zeros((size, size), np.uint8)
            cells = rng.permutation(4)[:n]
            bboxes = []
            for label, cell in zip(labels, cells):
                # One object per image quadrant (possibly overlapping).
                cx = int((cell % 2 + 0.5) * size / 2 + rng.normal(0, 4))
                cy = int((cell // 2 + 0.5) * size / 2 + rng.normal(0, 4))
                obj, _ = _draw_object(img, rng, int(label), k, (0.3, 0.45),
                                      centre=(cx, cy))
                mask[obj] = label + 1
            # Boxes and labels of what stays visible after occlusion.
            labels_out = []
            for label in sorted(int(lb) for lb in labels):
                visible = mask == label + 1
                if visible.any():
                    labels_out.append(label)
                    bboxes.append(_mask_box(visible))
            record.update(labels=labels_out, bboxes=bboxes)
        _write_png(osp.join(root, record['img']), img)
        _write_png(osp.join(root, record['mask']), mask)
        records.append(record)
    with open(osp.join(root, f'{split}.json'), 'w') as f:
        json.dump(records, f)


class _SyntheticBase(BaseDataset):
    """Shared loading of the generated annotation files."""

    MULTI_LABEL = False

    def __init__(self,
                 data_root: str = 'data/synthetic_wsol',
                 split: str = 'train',
                 num_classes: int = 4,
                 num_samples: Optional[dict] = None,
                 image_size: int = 128,
                 seed: int = 0,
                 generate: bool = True,
                 pipeline: Sequence = (),
                 **kwargs):
        self.split = split
        self.gen_cfg = dict(num_classes=num_classes, num_samples=num_samples,
                            image_size=image_size, seed=seed,
                            multi_label=self.MULTI_LABEL)
        if generate:
            generate_synthetic_dataset(data_root, **self.gen_cfg)
        elif _read_meta(data_root) is None:
            raise FileNotFoundError(
                f'No synthetic dataset at {data_root} (meta.json missing) '
                f'and generate=False.')
        classes = [f'class{i}' for i in range(num_classes)]
        kwargs.setdefault('metainfo', dict(classes=classes))
        super().__init__(ann_file=f'{split}.json', data_root=data_root,
                         pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Split file {self.ann_file} not found; the synthetic '
                f'dataset at {self.data_root} has no split "{self.split}".')
        with open(self.ann_file) as f:
            records = json.load(f)
        return [self._parse(r) for r in records]

    def _parse(self, record: dict) -> dict:
        raise NotImplementedError


@DATASETS.register_module()
class SyntheticWSOLDataset(_SyntheticBase):
    """Single-object synthetic WSOL dataset (generated on first use).

    Each sample has ``img_path``, ``gt_label``, ``gt_bboxes`` (1×4 float32,
    inclusive corners, original pixels), ``mask_path`` (whole object) and
    ``part_bboxes`` (the box of the discriminative part, for analysis).
    See the module docstring for the design of the images.

    Args:
        data_root: Folder of the generated files (created if missing).
        split: ``'train'`` or ``'test'`` (any key of ``num_samples``).
        num_classes: K classes.
        num_samples: Images per split, default 600 train / 200 test.
        image_size: Image side in pixels.
        seed: Generation seed.
        generate: Generate the files when missing.
    """

    def _parse(self, record: dict) -> dict:
        return dict(img_path=osp.join(self.data_root, record['img']),
                    mask_path=osp.join(self.data_root, record['mask']),
                    gt_label=int(record['label']),
                    gt_bboxes=np.asarray(record['bboxes'], np.float32),
                    part_bboxes=np.asarray(record['part_bboxes'],
                                           np.float32))


@DATASETS.register_module()
class SyntheticWSSSDataset(_SyntheticBase):
    """Multi-object, multi-label synthetic dataset for WSSS.

    Each sample has ``img_path``, ``gt_label`` (list of present classes),
    ``gt_bboxes`` (one box per present class) and ``seg_map_path``: a PNG
    class map with 0 = background and k + 1 = class k, ``reduce_zero_label``
    False. ``metainfo['classes']`` lists the K object classes; segmentation
    evaluation adds ``'background'`` as class 0.
    """

    MULTI_LABEL = True

    def __init__(self, data_root: str = 'data/synthetic_wsss', **kwargs):
        super().__init__(data_root=data_root, **kwargs)

    def _parse(self, record: dict) -> dict:
        return dict(img_path=osp.join(self.data_root, record['img']),
                    seg_map_path=osp.join(self.data_root, record['mask']),
                    gt_label=[int(x) for x in record['labels']],
                    gt_bboxes=np.asarray(record['bboxes'],
                                         np.float32).reshape(-1, 4))

