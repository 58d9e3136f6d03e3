# Copyright (c) mmwsl contributors. All rights reserved.
"""Class-activation-map utilities shared by all WSOL models."""
from typing import Sequence

import torch
import torch.nn.functional as F


def minmax_normalize(maps: torch.Tensor, eps: float = 0.) -> torch.Tensor:
    """Min-max normalise each map over its last two dimensions.

    Args:
        maps: ``(..., H, W)`` tensor.
        eps: Added to ``max - min``. With ``eps=0`` (the wsolevaluation
            rule) maps reach exactly 0 and 1 and a constant map becomes all
            zeros; BAS adds ``1e-5``.

    Returns:
        Tensor of the same shape with values in ``[0, 1]``. Maps holding NaN
        or Inf raise ``ValueError``.
    """
    if not torch.isfinite(maps).all():
        raise ValueError('Localization map holds NaN or Inf values; the '
                         'model diverged or its input is corrupt.')
    flat = maps.flatten(-2)
    low = flat.min(-1, keepdim=True).values
    span = flat.max(-1, keepdim=True).values - low + eps
    out = torch.where(span > 0, (flat - low) / span.clamp_min(1e-12),
                      torch.zeros_like(flat))
    return out.view_as(maps)


def resize_maps(maps: torch.Tensor, size: Sequence[int],
                mode: str = 'bicubic') -> torch.Tensor:
    """Resize ``(B, H, W)`` or ``(B, C, H, W)`` maps to ``size`` (H, W)."""
    squeeze = maps.dim() == 3
    x = maps[:, None] if squeeze else maps
    if tuple(x.shape[-2:]) != tuple(size):
        kwargs = {} if mode == 'nearest' else dict(align_corners=False)
        x = F.interpolate(x.float(), size=tuple(size), mode=mode, **kwargs)
    return x[:, 0] if squeeze else x


def localization_map(maps: torch.Tensor, size: Sequence[int],
                     resize_mode: str = 'bicubic',
                     normalize_first: bool = False,
                     eps: float = 0.) -> torch.Tensor:
    """Turn raw ``(B, h, w)`` maps into ``(B, H, W)`` maps in ``[0, 1]``.

    ``normalize_first=False`` resizes then normalises (wsolevaluation: no
    overshoot survives); ``True`` normalises then resizes (BAS) and clamps
    the interpolation overshoot back into ``[0, 1]``.
    """
    if normalize_first:
        return resize_maps(minmax_normalize(maps, eps), size,
                           resize_mode).clamp_(0, 1)
    return minmax_normalize(resize_maps(maps, size, resize_mode), eps)
