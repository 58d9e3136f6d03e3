# Copyright (c) mmwsl contributors. All rights reserved.
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmwsl.registry import MODELS


@MODELS.register_module()
class ConvReLUNeck(BaseModule):
    """One ``k x k`` convolution + ReLU on the last feature map.

    wsolevaluation's VGG-16 CAM/ADL models add such a layer ("conv6",
    512 -> 1024, 3x3, padding 1) between conv5_3 and the GAP classifier.

    Args:
        in_channels: Channels of the last backbone feature map.
        out_channels: Output channels.
        kernel_size: Odd kernel size; the padding keeps the spatial size.
        init_cfg: Initialisation config (wsolevaluation: xavier for VGG).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 3,
                 init_cfg: dict = dict(
                     type='Xavier', layer='Conv2d',
                     distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}.')
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, feats: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """``(B, C_in, h, w)`` last map -> ``((B, C_out, h, w), )``."""
        return (self.relu(self.conv(feats[-1])), )
