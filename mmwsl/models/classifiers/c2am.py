# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

from .wsol_classifier import WSOLClassifier


@MODELS.register_module()
class C2AM(WSOLClassifier):
    """C²AM: contrastive learning of a class-agnostic activation map
    (Xie et al., CVPR 2022).

    A backbone whose last two stages share one stride (ResNet-50 with
    strides ``(1, 2, 2, 1)``: output stride 16) feeds
    :class:`~mmwsl.models.heads.C2AMHead`, which predicts one
    class-agnostic map and contrasts the features it pools. Training uses
    no labels, so any folder of images can train it.

    Modes:

    - ``'loss'``: ``loss_fg_fg``, ``loss_bg_bg`` and ``loss_bg_fg``;
    - ``'tensor'``: ``fg_feats``, ``bg_feats`` ``(B, C)`` and ``ccam``
      ``(B, 1, h, w)`` (the sigmoid map, before the polarity flip);
    - ``'predict'``: data samples with ``cam`` (``(H, W)`` in ``[0, 1]`` at
      the network-input resolution: the foreground map after the polarity
      flip, resized and min-max normalised as set by ``test_cfg``) and
      ``c2am_map`` (the same map at feature resolution, not normalised).
      There is no class prediction; pair the model with a classifier
      (:class:`C2AMWithClassifier`) for Top-1/Top-5 Loc.

    Args:
        backbone: Backbone config, e.g. ``mmpretrain.ResNet`` with
            ``strides=(1, 2, 2, 1), out_indices=(2, 3)``.
        head: Head config, normally ``mmwsl.C2AMHead``.
        neck: Optional neck config.
        pretrained: Checkpoint to initialise the whole model from.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``.
        test_cfg: How the low-resolution map becomes ``cam`` (see
            :class:`WSOLClassifier`); default bicubic resize then exact
            min-max normalisation, as for the CAM baseline.
        init_cfg: Initialisation config.
    """

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        mode: str = 'tensor',
    ):
        if mode == 'tensor':
            return self.head.forward_tensor(self.extract_feat(inputs))
        return super().forward(inputs, data_samples, mode)

    def foreground_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """BN output ``z`` ``(B, 1, h, w)`` of the head (before the sigmoid
        and the polarity flip), for the multi-scale WSSS inference."""
        return self.head(self.extract_feat(inputs), logits=True)[2]
