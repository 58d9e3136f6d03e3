# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List

import torch
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

from .multilabel_cam import MultiLabelCAMClassifier


@MODELS.register_module()
class HFPLCAMClassifier(MultiLabelCAMClassifier):
    """:class:`MultiLabelCAMClassifier` that also hands the input image to
    the head's loss (for HFPL's feature-similarity loss).

    The image is the network input de-normalised with the data
    preprocessor's ``mean``/``std`` and divided by 255: ``(B, 3, H, W)``
    RGB in ``[0, 1]`` (after the data augmentation; padding shows as the
    pad value, spec section 8, quirk 6). Prediction and ``mode='tensor'``
    are those of the parent.
    """

    def input_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """Network input ``(B, 3, H, W)`` -> RGB in ``[0, 1]``."""
        pre = self.data_preprocessor
        x = inputs.detach()
        if getattr(pre, '_enable_normalize', False):
            x = x * pre.std + pre.mean
        return (x / 255.0).clamp(0, 1)

    def loss(
        self, inputs: torch.Tensor, data_samples: List[DataSample]
    ) -> dict:
        return self.head.loss(
            self.extract_feat(inputs),
            data_samples,
            images=self.input_images(inputs),
        )
