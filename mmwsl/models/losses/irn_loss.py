# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN's affinity and displacement losses (``specs/bas.md`` 5.3).

Pair labels come from an IR label map on the feature grid (0 background,
``c + 1`` class c, 255 or any value ``>= ignore_from`` unknown):

* positive background pair: both ends background;
* positive foreground pair: both ends the same foreground class;
* negative pair: both ends known and different;
* pairs with an unknown end carry no label.

With the pair affinity ``a = 1 - max(boundary on the path)``:

* ``L_pos = (mean_bgpos(-log(a + 1e-5)) + mean_fgpos(-log(a + 1e-5))) / 2``
* ``L_neg = mean_neg(-log(1 + 1e-5 - a))``
* ``L_dp_fg = sum_fgpos |d(src) - d(dst) - offset| / (2 n_fgpos)`` (both
  displacement channels summed), ``L_dp_bg = sum_bgpos |d(src) - d(dst)| /
  (2 n_bgpos)``

and IRN's total ``(L_pos + L_neg) / 2 + (L_dp_fg + L_dp_bg) / 2``; every mean
divides by ``count + 1e-5``.
"""

from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmwsl.models.layers.path_index import PathIndex, edge_to_affinity
from mmwsl.registry import MODELS

EPS = 1e-5


def affinity_labels(
    label: torch.Tensor,
    src_indices,
    dst_indices,
    ignore_from: int = 255,
) -> tuple:
    """Pair labels of IR label maps.

    Args:
        label: ``(B, H, W)`` or ``(H, W)`` integer label maps on the grid.
        src_indices: ``(N,)`` flat source indices (:class:`PathIndex`).
        dst_indices: ``(D, N)`` flat destination indices.
        ignore_from: labels at or above this value are unknown (IRN: 21
            on VOC; any value > the class count works, 255 by default).

    Returns:
        tuple: float masks ``bg_pos``, ``fg_pos`` and ``neg``, each
        ``(B, D, N)`` (``(D, N)`` for a single map).
    """
    single = label.dim() == 2
    lab = label.reshape(1 if single else label.shape[0], -1).long()
    src = torch.as_tensor(src_indices, device=lab.device)
    dst = torch.as_tensor(dst_indices, device=lab.device)
    lab_from = lab[:, src].unsqueeze(1)  # (B, 1, N)
    lab_to = lab[:, dst.reshape(-1)].view(lab.shape[0], *dst.shape)
    valid = (lab_from < ignore_from) & (lab_to < ignore_from)
    equal = lab_from == lab_to
    pos = equal & valid
    bg_pos = (pos & (lab_from == 0)).float()
    fg_pos = (pos & (lab_from > 0)).float()
    neg = (~equal & valid).float()
    if single:
        return bg_pos[0], fg_pos[0], neg[0]
    return bg_pos, fg_pos, neg


def pair_displacement(
    disp: torch.Tensor, path_index: PathIndex
) -> torch.Tensor:
    """``d(src) - d(dst)`` for every pair.

    Args:
        disp: ``(B, 2, H, W)`` displacement field on the grid.

    Returns:
        torch.Tensor: ``(B, 2, D, N)``.
    """
    rf = path_index.radius_floor
    ch, cw = path_index.cropped_size
    src = disp[:, :, :ch, rf : rf + cw]
    dst = torch.stack(
        [
            disp[:, :, dy : dy + ch, rf + dx : rf + dx + cw]
            for dy, dx in path_index.directions.tolist()
        ],
        2,
    )
    pair = src.unsqueeze(2) - dst
    return pair.reshape(pair.shape[0], 2, pair.shape[2], -1)


def _masked_mean(values, mask, scale=1.0):
    return (values * mask).sum() / (scale * mask.sum() + EPS)


@MODELS.register_module()
class IRNAffinityLoss(nn.Module):
    """IRN's boundary (affinity) and displacement losses.

    The returned dict's entries add up to IRN's total loss: ``loss_aff_bg``
    and ``loss_aff_fg`` are ``L_pos`` halves / 2, ``loss_aff_neg`` is ``L_neg
    / 2``, ``loss_dp_fg`` / ``loss_dp_bg`` are the displacement terms / 2,
    each times ``loss_weight``.

    Args:
        radius: search radius of the pairs on the feature grid (IRN: 10).
        ignore_from: labels at or above this are unknown.
        loss_weight: factor on every term.
    """

    def __init__(
        self,
        radius: float = 10,
        ignore_from: int = 255,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.radius = radius
        self.ignore_from = ignore_from
        self.loss_weight = loss_weight
        self._cache = {}

    def path_index(self, size: Sequence[int]) -> PathIndex:
        key = (int(size[0]), int(size[1]))
        if key not in self._cache:
            self._cache[key] = PathIndex(self.radius, key)
        return self._cache[key]

    def forward(
        self,
        edge_logits: torch.Tensor,
        displacement: torch.Tensor,
        label: torch.Tensor,
    ) -> Dict[str, torch.Tensor]:
        """
        Args:
            edge_logits: ``(B, 1, H, W)`` boundary logits.
            displacement: ``(B, 2, H, W)`` displacement field (or None to
                skip the displacement terms).
            label: ``(B, H, W)`` IR labels on the same grid.
        """
        if label.shape[-2:] != edge_logits.shape[-2:]:
            raise ValueError(
                f'IR labels {tuple(label.shape[-2:])} and boundary map '
                f'{tuple(edge_logits.shape[-2:])} differ in size.'
            )
        pi = self.path_index(edge_logits.shape[-2:])
        bg_pos, fg_pos, neg = affinity_labels(
            label, pi.src_indices, pi.dst_indices, self.ignore_from
        )
        aff = edge_to_affinity(torch.sigmoid(edge_logits), pi.path_indices)
        pos_term = -torch.log(aff + EPS)
        neg_term = -torch.log(1.0 + EPS - aff)
        w = self.loss_weight
        losses = dict(
            loss_aff_bg=w * _masked_mean(pos_term, bg_pos) / 4,
            loss_aff_fg=w * _masked_mean(pos_term, fg_pos) / 4,
            loss_aff_neg=w * _masked_mean(neg_term, neg) / 2,
        )
        if displacement is not None:
            pair = pair_displacement(displacement, pi)
            target = torch.as_tensor(
                np.ascontiguousarray(pi.directions.T),
                dtype=pair.dtype,
                device=pair.device,
            )[None, :, :, None]
            losses['loss_dp_fg'] = (
                w
                * _masked_mean(
                    (pair - target).abs(), fg_pos.unsqueeze(1), 2.0
                )
                / 2
            )
            losses['loss_dp_bg'] = (
                w * _masked_mean(pair.abs(), bg_pos.unsqueeze(1), 2.0) / 2
            )
        return losses
