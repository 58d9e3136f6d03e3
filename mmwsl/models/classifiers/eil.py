# Copyright (c) mmwsl contributors. All rights reserved.
"""EIL: erasing integrated learning (Mai et al., CVPR 2020)."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from mmwsl.models.layers import attention_drop_mask
from mmwsl.registry import MODELS

from .wsol_classifier import WSOLClassifier


@MODELS.register_module()
class EILClassifier(WSOLClassifier):
    """WSOL classifier trained on features and their erased copy.

    In ``loss`` mode the output ``X`` ``(B, C, H, W)`` of the backbone
    submodule ``split`` is joined by its erased copy
    ``X' = X * 1[mean_c X < gamma * max mean_c X]`` (the ADL drop mask,
    always applied, no gradient through the mask); both go through the rest
    of the backbone, the neck and the head with shared weights, as one
    batch of ``2B``. The loss is ``L(X) + sigma * L(X')``, with ``L`` the
    head's own loss. Prediction and the CAM use the unerased path only.

    BatchNorm layers after ``split`` see both halves in one batch (the
    reference model, VGG-16 split after pool4, has none).

    Args:
        split: Name of the backbone submodule whose output is erased
            (mmpretrain VGG-16 pool4: ``'features.13'``; ResNet:
            e.g. ``'layer3'``).
        gamma: Erase threshold relative to the maximum channel-mean
            attention (official VGG-16: 0.7).
        sigma: Weight of the erased branch's loss (official code: 1).
        **kwargs: :class:`WSOLClassifier` arguments.
    """

    def __init__(self,
                 *args,
                 split: str,
                 gamma: float = 0.7,
                 sigma: float = 1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        try:
            module = self.backbone.get_submodule(split)
        except AttributeError as e:
            raise ValueError(f'EIL split {split!r} is not a submodule of '
                             f'{type(self.backbone).__name__}.') from e
        self.split = split
        self.gamma = gamma
        self.sigma = sigma
        self._erasing = False
        module.register_forward_hook(self._append_erased_copy)

    def _append_erased_copy(self, module: nn.Module, inputs: tuple,
                            output: torch.Tensor) -> Optional[torch.Tensor]:
        if not self._erasing:
            return None
        erased = output * attention_drop_mask(output, self.gamma)
        return torch.cat([output, erased])

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """Head losses of the unerased half (unchanged names) and of the
        erased half (``<name>_erased``, scaled by ``sigma``)."""
        batch = inputs.size(0)
        self._erasing = True
        try:
            feats = self.extract_feat(inputs)
        finally:
            self._erasing = False
        if feats[-1].size(0) != 2 * batch:
            raise RuntimeError(f'EIL split {self.split!r} did not run in '
                               'the forward pass; pick a submodule that '
                               'the backbone calls.')
        losses = self.head.loss(tuple(f[:batch] for f in feats),
                                data_samples)
        erased = self.head.loss(tuple(f[batch:] for f in feats),
                                data_samples)
        for key, value in erased.items():
            if key.startswith('loss'):
                losses[f'{key}_erased'] = self.sigma * value
        return losses
