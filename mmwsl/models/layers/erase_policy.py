# Copyright (c) mmwsl contributors. All rights reserved.
"""Region rules of adversarial erasing (AE): which pixels of a class
activation map count as the "discriminative region" that is erased.

Three rules (``specs/erasing.md`` 1.4), all applied to each map on its own
and all returning an empty region for a constant map (``max == min``):

* ``topk_ratio``: ``k = ceil(ratio * H * W)``, ``v_k`` the k-th largest
  value; the region is every pixel with ``H >= v_k`` (``>`` with
  ``cmp='gt'``), so all pixels tied with ``v_k`` are in it (a value rule,
  deterministic, unlike picking exactly k pixels by argsort). When
  ``v_k`` equals the map's minimum (a rectified map that is 0 on more than
  ``1 - ratio`` of the image) only the pixels above the minimum are kept,
  so the flat floor is never erased (a design choice of this toolbox).
* ``max_ratio``: ``ReLU(H) >= ratio * max(ReLU(H))`` (ADL/EIL style).
* ``minmax``: ``(H - min) / (max - min) >= ratio`` (ACoL style).

:func:`class_activation_map` is the CAM of a GAP + linear classifier,
``sum_k W[c, k] f_k``, or the channel mean used by wsolevaluation.
"""
import math
from dataclasses import asdict, dataclass
from typing import Union

import numpy as np
import torch

ERASE_MODES = ('topk_ratio', 'max_ratio', 'minmax')
ERASE_CMPS = ('ge', 'gt')


def class_activation_map(feats: torch.Tensor, weight: torch.Tensor,
                         reduce: str = 'sum') -> torch.Tensor:
    """Class activation maps of a linear classifier on pooled features.

    Args:
        feats: ``(..., K, h, w)`` feature maps.
        weight: ``(C, K)`` classifier weights.
        reduce: ``'sum'`` gives ``sum_k W[c, k] f_k``; ``'mean'`` divides
            by K (wsolevaluation). The scale does not change any region
            rule of this module.

    Returns:
        torch.Tensor: ``(..., C, h, w)`` maps (not rectified).
    """
    if reduce not in ('sum', 'mean'):
        raise ValueError(f"reduce must be 'sum' or 'mean', not {reduce!r}.")
    if weight.dim() != 2 or weight.size(1) != feats.size(-3):
        raise ValueError(
            f'weight of shape {tuple(weight.shape)} does not fit features '
            f'with {feats.size(-3)} channels.')
    cams = torch.einsum('ck,...khw->...chw', weight.to(feats), feats)
    return cams / feats.size(-3) if reduce == 'mean' else cams


@dataclass(frozen=True)
class ErasePolicy:
    """How AE turns a class map into the region to erase.

    Args:
        mode: ``'topk_ratio'``, ``'max_ratio'`` or ``'minmax'``.
        ratio: the fraction of pixels (``topk_ratio``) or of the peak
            (``max_ratio``, ``minmax``), in ``(0, 1]``.
        cmp: ``'ge'`` (``>=``, default) or ``'gt'`` (``>``).
    """

    mode: str = 'topk_ratio'
    ratio: float = 0.2
    cmp: str = 'ge'

    def __post_init__(self):
        if self.mode not in ERASE_MODES:
            raise ValueError(f'Erase policy mode must be one of '
                             f'{ERASE_MODES}, got {self.mode!r}.')
        if self.cmp not in ERASE_CMPS:
            raise ValueError(f'Erase policy cmp must be one of {ERASE_CMPS}, '
                             f'got {self.cmp!r}.')
        if not 0 < float(self.ratio) <= 1:
            raise ValueError(
                f'Erase policy ratio must be in (0, 1], got {self.ratio}.')

    def to_dict(self) -> dict:
        return asdict(self)

    def __call__(self, cams: Union[torch.Tensor, np.ndarray]):
        return erase_region(cams, self.mode, self.ratio, self.cmp)


def _topk_count(ratio: float, n: int) -> int:
    # Round first so that e.g. 0.7 * 10 = 7.000000000000001 gives 7.
    return min(max(int(math.ceil(round(ratio * n, 9))), 1), n)


def erase_region(cams: Union[torch.Tensor, np.ndarray],
                 mode: str = 'topk_ratio',
                 ratio: float = 0.2,
                 cmp: str = 'ge') -> Union[torch.Tensor, np.ndarray]:
    """Discriminative region of every map.

    Args:
        cams: ``(..., H, W)`` maps (tensor or array).
        mode: ``'topk_ratio'``, ``'max_ratio'`` or ``'minmax'`` (see the
            module docstring).
        ratio: fraction in ``(0, 1]``.
        cmp: ``'ge'`` or ``'gt'``.

    Returns:
        ``(..., H, W)`` boolean masks of the same type as ``cams``; empty for
        a constant map (and for ``max_ratio``, a map without positive
        values).
    """
    ErasePolicy(mode, ratio, cmp)  # validates
    is_numpy = isinstance(cams, np.ndarray)
    x = torch.from_numpy(np.asarray(cams)) if is_numpy else cams
    if x.dim() < 2:
        raise ValueError(f'Maps must be (..., H, W), got {tuple(x.shape)}.')
    if not torch.isfinite(x).all():
        raise ValueError('Class maps hold NaN or Inf values.')
    shape = x.shape
    flat = x.detach().reshape(-1, shape[-2] * shape[-1]).double()
    if mode == 'max_ratio':
        flat = flat.clamp_min(0)
    high = flat.max(1, keepdim=True).values
    low = flat.min(1, keepdim=True).values
    valid = high > low
    if mode == 'topk_ratio':
        k = _topk_count(ratio, flat.size(1))
        thr = flat.topk(k, dim=1).values[:, -1:]
        score = flat
        # A k-th value at the map's floor (e.g. the zeros of a rectified
        # map covering more than 1 - ratio of the image) would select the
        # whole floor: keep only the pixels above it then.
        valid = valid & ((flat > low) | (thr > low))
    elif mode == 'max_ratio':
        thr = ratio * high
        score = flat
        valid = valid & (high > 0)
    else:
        thr = flat.new_full(high.shape, float(ratio))
        score = (flat - low) / (high - low).clamp_min(1e-300)
    mask = score >= thr if cmp == 'ge' else score > thr
    mask = (mask & valid).reshape(shape)
    return mask.numpy() if is_numpy else mask
