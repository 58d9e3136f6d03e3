# Copyright (c) mmwsl contributors. All rights reserved.
"""Class-agnostic box regression head of PSOL (the second stage of the
C²AM WSOL pipeline)."""

from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS


@MODELS.register_module()
class PSOLHead(BaseModule):
    """``Linear(C, 512) -> ReLU -> Linear(512, 4) -> Sigmoid`` on pooled
    features: one box ``[x, y, w, h]`` normalised to the input.

    The loss is ``loss_weight * MSE(pred, target)`` with the target
    ``psol_target`` of each data sample (``mmwsl.PackPSOLTarget``), as the
    reference (``lambda_reg = 50``).

    Args:
        in_channels: Channels C of the pooled feature.
        hidden_channels: Width of the hidden layer.
        loss_weight: Factor of the MSE.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 512,
        loss_weight: float = 50.0,
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.loss_weight = loss_weight
        self.fc = nn.Sequential(
            nn.Linear(in_channels, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, 4),
            nn.Sigmoid(),
        )

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Boxes ``(B, 4)`` as ``[x, y, w, h]`` in [0, 1] of the input."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() == 4:
            x = x.mean((2, 3))
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects pooled '
                f'(B, {self.in_channels}) features, got '
                f'{tuple(x.shape)}.'
            )
        return self.fc(x)

    def loss(
        self, feats: Sequence[torch.Tensor], data_samples: List[DataSample]
    ) -> dict:
        """``loss_box``: weighted MSE against ``psol_target``."""
        pred = self.forward(feats)
        try:
            target = torch.stack(
                [
                    torch.as_tensor(s.psol_target, dtype=pred.dtype)
                    for s in data_samples
                ]
            ).to(pred.device)
        except AttributeError:
            raise KeyError(
                'PSOL training samples need psol_target; add '
                'mmwsl.PackPSOLTarget and PackWSOLInputs('
                "algorithm_keys=('psol_target', )) to the "
                'pipeline.'
            ) from None
        return dict(loss_box=self.loss_weight * F.mse_loss(pred, target))
