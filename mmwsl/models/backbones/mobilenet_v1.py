# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmwsl.registry import MODELS


@MODELS.register_module()
class MobileNetV1(BaseBackbone):
    """MobileNetV1 backbone (`arXiv:1704.04861
    <https://arxiv.org/abs/1704.04861>`_).

    ``layers`` holds 14 blocks: block 0 is a 3x3 conv (32 channels) and
    blocks 1-13 are depthwise-separable convs (depthwise 3x3 + BN + act,
    pointwise 1x1 + BN + act) with output channels
    ``64, 128, 128, 256, 256, 512, 512 x 5, 1024, 1024``. All convs have no
    bias and every 3x3 conv uses padding 1.

    The standard network has stride 2 at blocks 0, 2, 4, 6 and 12 (output
    stride 32). WSOL methods (BAS, ADL, ...) set block 6 to stride 1 with
    ``strides=(2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1)`` so a 224 input
    gives a 28x28 map after block 11 and 14x14 at the end.

    Args:
        strides: Stride of each of the 14 blocks (of the depthwise conv for
            blocks 1-13).
        out_indices: Blocks whose outputs are returned.
        frozen_stages: Blocks ``0 .. frozen_stages - 1`` are frozen (eval
            mode, no gradient); -1 freezes nothing.
        norm_cfg: Normalisation layer config.
        act_cfg: Activation config. The BAS models use plain ReLU.
        norm_eval: Keep BN layers in eval mode during training.
        init_cfg: Initialisation config.

    Shapes: input ``(B, 3, H, W)``; block ``i`` outputs
    ``(B, C_i, H / s_i, W / s_i)`` with ``s_i`` the product of the strides
    up to block ``i``.
    """

    channels = (
        32,
        64,
        128,
        128,
        256,
        256,
        512,
        512,
        512,
        512,
        512,
        512,
        1024,
        1024,
    )
    default_strides = (2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)

    def __init__(
        self,
        strides: Sequence[int] = default_strides,
        out_indices: Sequence[int] = (13,),
        frozen_stages: int = -1,
        norm_cfg: dict = dict(type='BN'),  # noqa: B006
        act_cfg: dict = dict(type='ReLU'),  # noqa: B006
        norm_eval: bool = False,
        init_cfg: Optional[List[dict]] = [  # noqa: B006
            dict(type='Xavier', layer='Conv2d', distribution='uniform'),
            dict(type='Constant', val=1, layer='_BatchNorm'),
        ],
    ):
        super().__init__(init_cfg=init_cfg)
        num_blocks = len(self.channels)
        if len(strides) != num_blocks:
            raise ValueError(
                f'strides must have {num_blocks} entries, got {len(strides)}'
            )
        for index in out_indices:
            if not 0 <= index < num_blocks:
                raise ValueError(
                    f'out_indices must be in [0, {num_blocks}), got {index}'
                )
        self.strides = tuple(strides)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        blocks = [
            ConvModule(
                3,
                self.channels[0],
                3,
                stride=strides[0],
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
            )
        ]
        for i in range(1, num_blocks):
            blocks.append(
                DepthwiseSeparableConvModule(
                    self.channels[i - 1],
                    self.channels[i],
                    3,
                    stride=strides[i],
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )
        self.layers = nn.Sequential(*blocks)
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, block in enumerate(self.layers):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def forward_steps(self) -> List[str]:
        """Names of the submodules that, run in order, make ``forward``."""
        return [f'layers.{i}' for i in range(len(self.layers))]

    def _freeze_stages(self) -> None:
        for i in range(min(self.frozen_stages, len(self.layers))):
            block = self.layers[i]
            block.eval()
            for param in block.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileNetV1':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
