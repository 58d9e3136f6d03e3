# Copyright (c) mmwsl contributors. All rights reserved.
"""Class-agnostic activation head of C²AM."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS


def pool_foreground_background(
    feats: torch.Tensor, weights: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Foreground and background features of C²AM.

    ``v^f = (1/hw) * sum_p W[p] * Z[:, p]`` and
    ``v^b = (1/hw) * sum_p (1 - W[p]) * Z[:, p]``: weighted sums divided by
    the number of positions ``hw`` of the map (not by the sum of weights).

    Args:
        feats: ``(B, C, h, w)`` feature map ``Z``.
        weights: ``(B, 1, h, w)`` map ``W`` (the sigmoid map ``P``, or the
            logits in the logit mode of the WSSS inference).

    Returns:
        tuple: ``fg_feats`` and ``bg_feats``, each ``(B, C)``.
    """
    if (
        weights.shape[0] != feats.shape[0]
        or weights.shape[1] != 1
        or weights.shape[2:] != feats.shape[2:]
    ):
        raise ValueError(
            f'weights must be (B, 1, h, w) matching feats '
            f'{tuple(feats.shape)}, got '
            f'{tuple(weights.shape)}.'
        )
    num = feats.shape[2] * feats.shape[3]
    z = feats.flatten(2).transpose(1, 2)  # (B, hw, C)
    w = weights.flatten(2)  # (B, 1, hw)
    fg = torch.bmm(w, z).squeeze(1) / num
    bg = torch.bmm(1 - w, z).squeeze(1) / num
    return fg, bg


@MODELS.register_module()
class C2AMHead(BaseModule):
    """Class-agnostic activation head and contrastive loss of C²AM.

    The backbone features selected by ``in_index`` are concatenated along
    the channels into ``Z`` ``(B, C, h, w)`` (for ResNet-50 with
    ``out_indices=(2, 3)``: layer4 then layer3, 2048 + 1024 channels), and::

        P   = sigmoid(BN(conv3x3(Z)))          # (B, 1, h, w)
        v^f = (1/hw) P Z^T,  v^b = (1/hw) (1 - P) Z^T

    with a bias-free 3×3 convolution to one channel and a ``BatchNorm2d(1)``
    (in training it standardises the logits with the batch statistics). The
    loss contrasts ``v^f`` and ``v^b`` (:class:`C2AMContrastiveLoss`);
    class labels are not used.

    The loss cannot tell which side is the object, so the head keeps the
    decision as buffers saved with the checkpoint: ``flip`` (True: the
    foreground map is ``1 - P``) and ``polarity_checked`` (whether the
    decision was made, by :class:`~mmwsl.engine.hooks.C2AMPolarityHook` or
    a converted checkpoint). ``flip`` starts as True, as in the reference
    code, until the check has run.

    Args:
        in_channels: Channels ``C`` of ``Z``.
        in_index: Which backbone outputs to concatenate, in order.
        loss: Loss config; default ``mmwsl.C2AMContrastiveLoss`` with
            ``alpha=0.25``.
        init_flip: Initial value of ``flip``.
        init_cfg: Initialisation config; the default leaves PyTorch's
            initialisation of the convolution (kaiming-uniform, a=sqrt(5)).
    """

    def __init__(
        self,
        in_channels: int,
        in_index: Sequence[int] = (-1, -2),
        loss: Optional[dict] = None,
        init_flip: bool = True,
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.in_index = tuple(in_index)
        self.activation_head = nn.Conv2d(
            in_channels, 1, kernel_size=3, padding=1, bias=False
        )
        self.bn_head = nn.BatchNorm2d(1)
        if loss is None:
            loss = dict(type='mmwsl.C2AMContrastiveLoss', alpha=0.25)
        self.loss_module = (
            MODELS.build(loss) if isinstance(loss, dict) else loss
        )
        self.register_buffer('flip', torch.tensor(bool(init_flip)))
        self.register_buffer('polarity_checked', torch.tensor(False))
        # Detached training map of the last loss call, for the polarity
        # check (not saved).
        self.last_train_map: Optional[torch.Tensor] = None

    def concat_features(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Concatenate the selected backbone outputs into ``(B, C, h, w)``."""
        if isinstance(feats, torch.Tensor):
            feats = (feats,)
        try:
            selected = [feats[i] for i in self.in_index]
        except IndexError:
            raise ValueError(
                f'{type(self).__name__} selects backbone outputs '
                f'{self.in_index} but got {len(feats)}; check the '
                f"backbone's out_indices."
            ) from None
        sizes = {tuple(x.shape[2:]) for x in selected}
        if len(sizes) != 1:
            raise ValueError(
                f'The selected feature maps have different '
                f'sizes {sorted(sizes)}; C²AM needs a backbone '
                f'whose last stages share one stride (e.g. '
                f'ResNet strides (1, 2, 2, 1)).'
            )
        x = torch.cat(selected, dim=1)
        if x.size(1) != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects '
                f'{self.in_channels} channels, got {x.size(1)};'
                f' check in_channels and in_index.'
            )
        return x

    def forward(
        self, feats: Sequence[torch.Tensor], logits: bool = False
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled features and the map.

        Args:
            feats: Backbone outputs.
            logits: Return (and pool with) the BN output ``z`` instead of
                ``P = sigmoid(z)``: the map of the reference WSSS
                inference, whose pooled vectors are unbounded.

        Returns:
            tuple: ``fg_feats`` ``(B, C)``, ``bg_feats`` ``(B, C)`` and the
            map ``(B, 1, h, w)`` (``P``, or ``z`` with ``logits=True``).
        """
        x = self.concat_features(feats)
        z = self.bn_head(self.activation_head(x))
        ccam = z if logits else torch.sigmoid(z)
        fg, bg = pool_foreground_background(x, ccam)
        return fg, bg, ccam

    def forward_tensor(self, feats: Sequence[torch.Tensor]) -> dict:
        """``fg_feats``, ``bg_feats`` ``(B, C)`` and ``ccam``
        ``(B, 1, h, w)``, the sigmoid map before any polarity flip."""
        fg, bg, ccam = self.forward(feats)
        return dict(fg_feats=fg, bg_feats=bg, ccam=ccam)

    def loss(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[DataSample]] = None,
    ) -> Dict[str, torch.Tensor]:
        """``loss_fg_fg``, ``loss_bg_bg`` and ``loss_bg_fg``; the data
        samples (and their labels) are not used."""
        fg, bg, ccam = self.forward(feats)
        self.last_train_map = ccam.detach()
        return self.loss_module(fg, bg)

    def foreground_map(self, ccam: torch.Tensor) -> torch.Tensor:
        """Apply the polarity decision: ``1 - P`` if ``flip`` else ``P``."""
        return torch.where(self.flip, 1 - ccam, ccam)

    def set_polarity(self, flip: bool) -> None:
        """Record the polarity decision (``flip``: the object is where
        ``P`` is low)."""
        self.flip.fill_(bool(flip))
        self.polarity_checked.fill_(True)

    def predict(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        """Data samples with the low-resolution foreground map.

        Sets ``cam`` and ``c2am_map``, both the ``(h, w)`` map after the
        polarity flip, in (0, 1) and not normalised; the classifier then
        resizes and normalises ``cam`` to the input size and keeps
        ``c2am_map`` for the reference box extraction at feature
        resolution.
        """
        _, _, ccam = self.forward(feats)
        maps = self.foreground_map(ccam)[:, 0]
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(maps))]
        for sample, fmap in zip(data_samples, maps):
            sample.set_field(fmap, 'cam', field_type='data')
            sample.set_field(
                fmap.detach().clone(), 'c2am_map', field_type='data'
            )
        return data_samples
