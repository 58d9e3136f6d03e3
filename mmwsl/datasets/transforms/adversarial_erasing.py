# Copyright (c) mmwsl contributors. All rights reserved.
"""Transforms of adversarial erasing (AE) and PSL.

* :class:`ApplyAdversarialErasure` mean-fills the cumulative erased region of
  the previous AE round, read from ``<erase_dir>/<img_id>.png``.
* :class:`LoadImageLevelLabels` attaches an image's true image-level labels
  (for PSL's classification branch and its prohibitive online labels).
"""
import json
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from mmwsl.registry import TRANSFORMS


def image_id(img_path: str) -> str:
    """The id of an image in AE files: its file name without extension."""
    return osp.splitext(osp.basename(img_path))[0]


def read_erase_mask(path: str, shape: Optional[Sequence[int]] = None
                    ) -> np.ndarray:
    """Read an erase PNG (0 keep, non-zero erased) as an ``(H, W)`` bool
    array; with ``shape`` its size must equal ``shape[:2]``.

    Raises:
        FileNotFoundError / ValueError: naming the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Erase mask {path} is missing: the previous AE round did not '
            f'mine this image (is its MINING_DONE.json there?).')
    mask = mmcv.imfrombytes(fileio.get(path), flag='unchanged',
                            backend='cv2')
    if mask is None:
        raise ValueError(f'Cannot decode erase mask {path}.')
    if mask.ndim == 3:
        mask = mask[..., 0]
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        raise ValueError(
            f'Erase mask {path} has size {mask.shape} but its image has '
            f'size {tuple(shape[:2])}; erase masks are stored at the '
            f'original image size.')
    return mask > 0


def fill_value(mean: Sequence[float], to_rgb: bool = True) -> np.ndarray:
    """Per-channel fill in the order of the loaded image.

    ``mean`` is the data preprocessor's mean, in the order the network sees
    (RGB when the preprocessor has ``to_rgb=True``); mmcv loads BGR, so
    the fill is the reversed mean in that case. Filling with it makes the
    erased pixels exactly 0 after ``(x - mean) / std``.
    """
    fill = np.asarray(mean, np.float32).reshape(-1)
    return fill[::-1].copy() if to_rgb and fill.size == 3 else fill


def erase_image(img: np.ndarray, mask: np.ndarray,
                fill: np.ndarray) -> np.ndarray:
    """Float32 copy of ``img`` ``(H, W, C)`` with ``mask`` pixels set to
    ``fill`` ``(C,)``."""
    out = np.array(img, np.float32, copy=True)
    if mask.any():
        out[mask] = np.asarray(fill, np.float32)
    return out


@TRANSFORMS.register_module()
class ApplyAdversarialErasure(BaseTransform):
    """Mean-fill the cumulative erased region ``E_{t-1}`` of an image.

    Place it right after the image loading transform, before any geometric
    transform: the erase masks are stored at the original image size. The
    image becomes float32 (with or without erasing, so every round feeds the
    same dtype). ``tools/train_erasing.py`` sets ``erase_dir`` for each
    round; ``None`` (round 1) leaves the image unchanged but float32.

    Required keys: ``img`` ``(H, W, 3)``, ``img_path``. Modified: ``img``.

    Args:
        erase_dir: folder of ``<img_id>.png`` masks (0 keep, 1 erased),
            ``<img_id>`` the image file name without extension.
        mean: fill value in the network's channel order; set it to the data
            preprocessor's ``mean`` (erased pixels are then exactly 0 after
            normalisation).
        to_rgb: whether the data preprocessor flips BGR to RGB (then the
            fill is ``mean`` reversed, since mmcv loads BGR).
    """

    def __init__(self,
                 erase_dir: Optional[str] = None,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 to_rgb: bool = True):
        self.erase_dir = erase_dir
        self.mean = tuple(float(m) for m in mean)
        self.to_rgb = to_rgb
        self.fill = fill_value(self.mean, to_rgb)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if self.erase_dir is None:
            results['img'] = img.astype(np.float32, copy=False)
            return results
        path = osp.join(self.erase_dir, image_id(results['img_path']) +
                        '.png')
        mask = read_erase_mask(path, img.shape)
        if img.ndim == 3 and img.shape[2] != self.fill.size:
            raise ValueError(
                f'Fill value has {self.fill.size} channels but '
                f'{results["img_path"]} has {img.shape[2]}.')
        results['img'] = erase_image(img, mask, self.fill)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(erase_dir={self.erase_dir!r}, '
                f'mean={self.mean}, to_rgb={self.to_rgb})')


@TRANSFORMS.register_module()
class LoadImageLevelLabels(BaseTransform):
    """Attach the true image-level labels of an image as
    ``results['img_labels']`` (sorted 0-based foreground class indices).

    The labels come from a JSON file ``{img_id: [class, ...]}`` (as
    ``tools/ae_make_pseudo_labels.py`` writes to ``image_labels.json``),
    keyed by the image file name without extension; they are not derived
    from the pseudo mask, so a class that AE failed to mine is kept. Pack
    them with ``PackSegInputs(meta_keys=(..., 'img_labels'))``.

    Args:
        label_file: path of the JSON file.
        num_classes: number of foreground classes (labels are checked).
    """

    def __init__(self, label_file: str, num_classes: Optional[int] = None):
        self.label_file = label_file
        self.num_classes = num_classes
        self._labels = None

    def _load(self) -> dict:
        if self._labels is None:
            if not osp.isfile(self.label_file):
                raise FileNotFoundError(
                    f'Image-level label file {self.label_file} not found.')
            try:
                with open(self.label_file) as f:
                    labels = json.load(f)
            except ValueError as e:
                raise ValueError(f'Image-level label file {self.label_file} '
                                 f'is not valid JSON: {e}') from None
            if not isinstance(labels, dict):
                raise ValueError(f'Image-level label file {self.label_file} '
                                 f'must map image ids to class lists.')
            self._labels = {
                k: sorted(int(c) for c in v) for k, v in labels.items()
            }
            bad = [(k, v) for k, v in self._labels.items()
                   if self.num_classes is not None and any(
                       c < 0 or c >= self.num_classes for c in v)]
            if bad:
                raise ValueError(
                    f'{self.label_file}: image {bad[0][0]} has classes '
                    f'{bad[0][1]} outside [0, {self.num_classes}).')
        return self._labels

    def transform(self, results: dict) -> dict:
        key = image_id(results['img_path'])
        labels = self._load()
        if key not in labels:
            raise KeyError(f'Image {key} ({results["img_path"]}) has no '
                           f'entry in {self.label_file}.')
        results['img_labels'] = list(labels[key])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(label_file={self.label_file!r})'
