# Copyright (c) mmwsl contributors. All rights reserved.
"""Squared error between sigmoid scores and multi-hot labels: the
classification loss of AE-PSL (``specs/erasing.md`` 1.3, 1.9)."""
from typing import Optional

import torch
import torch.nn as nn

from mmwsl.registry import MODELS


def sigmoid_mse_loss(logits: torch.Tensor, target: torch.Tensor,
                     weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``mean((sigmoid(z) - y) ** 2)`` over all ``B x C`` entries.

    Args:
        logits: ``(B, C)`` class logits.
        target: ``(B, C)`` multi-hot labels in ``{0, 1}`` (or soft labels).
        weight: optional ``(B, C)`` or ``(C,)`` element weights.

    Returns:
        torch.Tensor: scalar loss.
    """
    if logits.shape != target.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and target '
                         f'{tuple(target.shape)} differ in shape.')
    err = (logits.sigmoid() - target.to(logits)) ** 2
    if weight is not None:
        err = err * weight.to(err)
    return err.mean()


@MODELS.register_module()
class SigmoidMSELoss(nn.Module):
    """Module form of :func:`sigmoid_mse_loss` with the mmpretrain loss
    call signature ``(cls_score, label, weight=None, avg_factor=None)``.

    Args:
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                **kwargs) -> torch.Tensor:
        return self.loss_weight * sigmoid_mse_loss(cls_score, label, weight)
