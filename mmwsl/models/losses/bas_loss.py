# Copyright (c) mmwsl contributors. All rights reserved.
"""Loss terms of BAS (Background Activation Suppression, CVPR 2022)."""

import torch
import torch.nn as nn

from mmwsl.registry import MODELS


def background_activation_loss(
    score: torch.Tensor,
    bg_score: torch.Tensor,
    masked_value: float = 1.0,
    inclusive: bool = False,
    relu: bool = True,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Background activation suppression term ``L_bas``.

    Per sample ``r_i = S_bg,i / (sg(S_i) + eps)``, the ground-truth-class
    logit of the erased (background) features over the detached logit of
    the full image; samples whose background logit exceeds the full one are
    replaced by the constant ``masked_value`` and carry no gradient. The
    result is the batch mean of ``r``.

    Code versions:

    - BAS-Extension (default): ``relu=True`` (both logits pass through
      ReLU), strict ``>`` (``inclusive=False``), ``masked_value`` 0 for
      VGG16 and 1 for the other backbones.
    - CVPR code, CUB: ``relu=False, inclusive=True, masked_value=0``.
    - CVPR code, ILSVRC: ``relu=False, inclusive=False, masked_value=0``.

    Args:
        score: ``(B, )`` ground-truth-class logits ``S`` of the full image;
            detached here.
        bg_score: ``(B, )`` ground-truth-class logits ``S_bg`` of the
            erased features.
        masked_value: Value of the masked ratios.
        inclusive: Mask where ``S_bg >= S`` instead of ``S_bg > S``.
        relu: Apply ReLU to both logits first.
        eps: Added to the denominator.

    Returns:
        Scalar loss.
    """
    if score.shape != bg_score.shape or score.dim() != 1:
        raise ValueError(
            f'score and bg_score must both have shape (B, ), '
            f'got {tuple(score.shape)} and '
            f'{tuple(bg_score.shape)}'
        )
    # float32: under mixed precision 1e-8 would vanish next to a zero logit.
    score, bg_score = score.detach().float(), bg_score.float()
    if relu:
        score, bg_score = score.relu(), bg_score.relu()
    ratio = bg_score / (score + eps)
    masked = bg_score >= score if inclusive else bg_score > score
    ratio = torch.where(masked, torch.full_like(ratio, masked_value), ratio)
    return ratio.mean()


def area_loss(fg_map: torch.Tensor) -> torch.Tensor:
    """Activation (area) constraint ``L_ac``: the mean foreground map value.

    Args:
        fg_map: ``(B, h, w)`` or ``(B, 1, h, w)`` foreground maps in
            ``[0, 1]``.

    Returns:
        Scalar: the batch mean of the per-image spatial means.
    """
    return fg_map.flatten(1).mean(1).mean()


def positive_negative_softmax_loss(
    logits: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Multi-label classification loss of BAS for WSSS (``L_mcls``).

    Every positive class of an image competes in a softmax only against the
    image's negative classes:

    ``L = 1/B sum_i sum_{k in pos(i)} -log(e^{s_ik} / (e^{s_ik} +
    sum_{j in neg(i)} e^{s_ij}))``

    Args:
        logits: ``(B, K)`` class scores.
        labels: ``(B, K)`` multi-hot targets (1 = positive).

    Returns:
        Scalar loss (summed over positives, averaged over images).
    """
    if logits.shape != labels.shape or logits.dim() != 2:
        raise ValueError(
            f'logits and labels must both be (B, K), got '
            f'{tuple(logits.shape)} and {tuple(labels.shape)}'
        )
    logits = logits.float()
    positive = labels > 0
    negatives = logits.masked_fill(positive, float('-inf'))
    neg_lse = negatives.logsumexp(dim=1, keepdim=True)  # (B, 1)
    per_class = torch.logaddexp(logits, neg_lse) - logits
    per_class = per_class.masked_fill(~positive, 0)
    return per_class.sum(1).mean()


@MODELS.register_module()
class BackgroundActivationLoss(nn.Module):
    """Module form of :func:`background_activation_loss` (``loss_bg``).

    Args:
        masked_value: Constant for samples whose background logit exceeds
            the full-image logit (no gradient either way).
        inclusive: Mask on ``>=`` (CVPR code, CUB) instead of ``>``.
        relu: Apply ReLU to both logits (BAS-Extension) or not (CVPR code,
            whose head ends in ReLU so the logits are already >= 0).
        loss_weight: Weight of the term (1 in every BAS recipe).
        loss_name: Key of the term in the loss dict.
    """

    def __init__(
        self,
        masked_value: float = 1.0,
        inclusive: bool = False,
        relu: bool = True,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_bg',
    ):
        super().__init__()
        self.masked_value = masked_value
        self.inclusive = inclusive
        self.relu = relu
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(
        self, score: torch.Tensor, bg_score: torch.Tensor
    ) -> torch.Tensor:
        """``score`` and ``bg_score``: ``(B, )`` ground-truth-class logits
        of the full image and of the erased features."""
        return self.loss_weight * background_activation_loss(
            score, bg_score, self.masked_value, self.inclusive, self.relu
        )

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class AreaLoss(nn.Module):
    """Module form of :func:`area_loss` (``loss_area``).

    Args:
        loss_weight: The weight beta of the term.
        loss_name: Key of the term in the loss dict.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_area'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, fg_map: torch.Tensor) -> torch.Tensor:
        """``fg_map``: ``(B, h, w)`` foreground maps."""
        return self.loss_weight * area_loss(fg_map)

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class PositiveNegativeSoftmaxLoss(nn.Module):
    """Module form of :func:`positive_negative_softmax_loss`.

    Args:
        loss_weight: Weight of the term.
        loss_name: Key of the term in the loss dict.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """``logits`` ``(B, K)``; ``labels`` ``(B, K)`` multi-hot."""
        return self.loss_weight * positive_negative_softmax_loss(
            logits, labels
        )

    @property
    def loss_name(self) -> str:
        return self._loss_name
