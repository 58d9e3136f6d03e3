# Copyright (c) mmwsl contributors. All rights reserved.
"""Contrastive loss of C²AM (Xie et al., CVPR 2022).

Foreground and background features pooled from a class-agnostic map are
contrasted inside a mini-batch:

* the negative term pushes every background feature away from every
  foreground feature (all ``N²`` pairs, same image included);
* two positive terms pull foreground features together and background
  features together, weighting each pair by its rank among the row's
  similarities.

Only cosine similarities are used, so the scale of the features does not
matter. The loss is symmetric in ``fg <-> bg``: it does not say which side
is the object (see :class:`~mmwsl.engine.hooks.C2AMPolarityHook`).
"""

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsl.registry import MODELS

#: Similarities are clamped to ``[SIM_MIN, 1 - SIM_MIN]`` before the log.
SIM_MIN = 5e-4


def clamped_cosine_similarity(
    a: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """Pairwise cosine similarities clamped to ``[5e-4, 1 - 5e-4]``.

    Rows are L2-normalised as ``x / max(||x||, 1e-12)``. Clamped entries
    (always the diagonal of a self-similarity matrix, where ``cos = 1``)
    carry no gradient.

    Args:
        a: ``(N, C)`` features.
        b: ``(M, C)`` features.

    Returns:
        ``(N, M)`` similarity matrix.
    """
    if a.dim() != 2 or b.dim() != 2 or a.size(1) != b.size(1):
        raise ValueError(
            f'Expected (N, C) and (M, C) features, got '
            f'{tuple(a.shape)} and {tuple(b.shape)}.'
        )
    sim = F.normalize(a, dim=1) @ F.normalize(b, dim=1).t()
    return sim.clamp(min=SIM_MIN, max=1 - SIM_MIN)


def rank_weights(sim: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rank weights ``exp(-alpha * (r - 1))`` of a similarity matrix.

    ``r[i, j]`` is the 0-based position of column ``j`` when row ``i`` is
    sorted by decreasing similarity; ties keep the lower column first (a
    stable sort). The self-pair normally ranks 0 and gets ``exp(alpha)``,
    the nearest other sample gets 1. Ranks are constants (no gradient) and
    the weights are computed in float32, as the reference code does,
    whatever the dtype of ``sim``.

    Args:
        sim: ``(N, N)`` similarities.
        alpha: Decay of the weights with the rank.

    Returns:
        ``(N, N)`` weights in the dtype of ``sim``.
    """
    order = torch.sort(
        sim.detach(), dim=1, descending=True, stable=True
    ).indices
    rank = torch.argsort(order, dim=1)
    weights = torch.exp(-(rank.to(torch.float32) - 1) * alpha)
    return weights.to(sim.dtype)


def c2am_positive_loss(feats: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rank-weighted attraction of features of the same kind.

    ``mean_ij( w_ij * -log(S_ij) )`` over all ``N²`` entries, diagonal
    included (its loss is the constant ``-log(0.9995)``), with ``S`` the
    clamped self-similarity of ``feats`` and ``w`` its :func:`rank_weights`.
    The mean divides by ``N²``, not by the sum of the weights.

    Args:
        feats: ``(N, C)`` foreground (or background) features.
        alpha: Rank decay ``alpha``.

    Returns:
        Scalar loss.
    """
    sim = clamped_cosine_similarity(feats, feats)
    # -log(S) >= -log(0.9995) > 0, so no entry needs to be zeroed.
    return (-torch.log(sim) * rank_weights(sim, alpha)).mean()


def c2am_negative_loss(
    bg_feats: torch.Tensor, fg_feats: torch.Tensor
) -> torch.Tensor:
    """Repulsion of background from foreground features.

    ``mean_ij( -log(1 - S_ij) )`` with ``S_ij = cos(bg_i, fg_j)`` clamped,
    over all ``N²`` pairs: within an image (``i = j``) and across images.

    Args:
        bg_feats: ``(N, C)`` background features.
        fg_feats: ``(N, C)`` foreground features.

    Returns:
        Scalar loss.
    """
    sim = clamped_cosine_similarity(bg_feats, fg_feats)
    return -torch.log(1 - sim).mean()


def c2am_contrastive_loss(
    fg_feats: torch.Tensor, bg_feats: torch.Tensor, alpha: float
) -> Dict[str, torch.Tensor]:
    """The three terms of the C²AM objective.

    ``L = L_pos(bg) + L_neg(bg, fg) + L_pos(fg)``, all with weight 1 and the
    same ``alpha`` for both positive terms.

    Args:
        fg_feats: ``(N, C)`` foreground features ``v^f``.
        bg_feats: ``(N, C)`` background features ``v^b``.
        alpha: Rank decay of the positive terms (0.05 for CUB/ILSVRC with
            supervised initialisation, 0.75 for CUB with MoCo/DetCo, 0.25
            for VOC and a custom folder).

    Returns:
        dict: ``loss_fg_fg`` (:func:`c2am_positive_loss` of ``fg_feats``),
        ``loss_bg_bg`` (the same of ``bg_feats``) and ``loss_bg_fg``
        (:func:`c2am_negative_loss`), each a scalar.
    """
    if fg_feats.shape != bg_feats.shape:
        raise ValueError(
            f'fg_feats and bg_feats must have the same (N, C) '
            f'shape, got {tuple(fg_feats.shape)} and '
            f'{tuple(bg_feats.shape)}.'
        )
    return dict(
        loss_fg_fg=c2am_positive_loss(fg_feats, alpha),
        loss_bg_bg=c2am_positive_loss(bg_feats, alpha),
        loss_bg_fg=c2am_negative_loss(bg_feats, fg_feats),
    )


@MODELS.register_module()
class C2AMContrastiveLoss(nn.Module):
    """Module form of :func:`c2am_contrastive_loss`.

    The contrast set is the batch the loss sees: under distributed training
    each process contrasts its own sub-batch, as the reference code does.

    Args:
        alpha: Rank decay of the positive terms.
        loss_weight: Factor applied to all three terms.
    """

    def __init__(self, alpha: float = 0.25, loss_weight: float = 1.0):
        super().__init__()
        self.alpha = alpha
        self.loss_weight = loss_weight

    def forward(
        self, fg_feats: torch.Tensor, bg_feats: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """``(N, C)`` features -> dict of the three scalar terms."""
        losses = c2am_contrastive_loss(fg_feats, bg_feats, self.alpha)
        if self.loss_weight != 1.0:
            losses = {k: v * self.loss_weight for k, v in losses.items()}
        return losses

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}, loss_weight={self.loss_weight}'
