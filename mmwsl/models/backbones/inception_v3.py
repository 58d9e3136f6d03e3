# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.backbones.inception_v3 import (
    BasicConv2d,
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)

from mmwsl.registry import MODELS


def _set_geometry(block: BasicConv2d, stride: int, padding: int) -> None:
    """Change the stride and padding of a ``BasicConv2d``'s conv."""
    block.conv.stride = (stride, stride)
    block.conv.padding = (padding, padding)


@MODELS.register_module()
class WSOLInceptionV3(BaseBackbone):
    """InceptionV3 with the large-feature-map geometry of the BAS models.

    The blocks (and their parameter names) are those of torchvision's and
    mmpretrain's InceptionV3 without the auxiliary head and classifier, so
    their ImageNet weights load directly. The geometry differs:

    - ``Conv2d_1a_3x3`` uses padding 1; both stem max-pools are
      ``3x3, stride 2, padding 1, ceil_mode=True``;
    - ``Mixed_6a`` keeps the resolution: its two strided convs and its
      max-pool use stride 1 and padding 1;
    - ``Mixed_7a`` pads its two strided convs and its max-pool by 1.

    A 224 input gives 768x28x28 after ``Mixed_6e`` and 2048x14x14 after
    ``Mixed_7c``. Inputs are ImageNet mean/std normalised (no torchvision
    ``transform_input``).

    Args:
        out_indices: Indices into :attr:`arch` of the blocks whose outputs
            are returned (14 = ``Mixed_6e``, 17 = ``Mixed_7c``).
        frozen_stages: Blocks ``0 .. frozen_stages - 1`` of :attr:`arch`
            are frozen; -1 freezes nothing.
        norm_eval: Keep BN layers in eval mode during training.
        init_cfg: Initialisation config.

    Shapes: input ``(B, 3, H, W)``; ``Mixed_6e`` gives
    ``(B, 768, ~H/8, ~W/8)`` and ``Mixed_7c`` ``(B, 2048, ~H/16, ~W/16)``.
    """

    arch = (
        'Conv2d_1a_3x3',
        'Conv2d_2a_3x3',
        'Conv2d_2b_3x3',
        'maxpool1',
        'Conv2d_3b_1x1',
        'Conv2d_4a_3x3',
        'maxpool2',
        'Mixed_5b',
        'Mixed_5c',
        'Mixed_5d',
        'Mixed_6a',
        'Mixed_6b',
        'Mixed_6c',
        'Mixed_6d',
        'Mixed_6e',
        'Mixed_7a',
        'Mixed_7b',
        'Mixed_7c',
    )

    def __init__(
        self,
        out_indices: Sequence[int] = (17,),
        frozen_stages: int = -1,
        norm_eval: bool = False,
        init_cfg: Optional[List[dict]] = [  # noqa: B006
            dict(type='Xavier', layer='Conv2d', distribution='uniform'),
            dict(type='Constant', val=1, layer='_BatchNorm'),
        ],
    ):
        super().__init__(init_cfg=init_cfg)
        for index in out_indices:
            if not 0 <= index < len(self.arch):
                raise ValueError(
                    f'out_indices must be in [0, '
                    f'{len(self.arch)}), got {index}'
                )
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.Conv2d_1a_3x3 = BasicConv2d(
            3, 32, kernel_size=3, stride=2, padding=1
        )
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        _set_geometry(self.Mixed_6a.branch3x3, stride=1, padding=1)
        _set_geometry(self.Mixed_6a.branch3x3dbl_3, stride=1, padding=1)
        self.Mixed_6a.branch_pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        _set_geometry(self.Mixed_7a.branch3x3_2, stride=2, padding=1)
        _set_geometry(self.Mixed_7a.branch7x7x3_4, stride=2, padding=1)
        self.Mixed_7a.branch_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, name in enumerate(self.arch):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def forward_steps(self) -> List[str]:
        """Names of the submodules that, run in order, make ``forward``."""
        return list(self.arch)

    def _freeze_stages(self) -> None:
        for name in self.arch[: max(self.frozen_stages, 0)]:
            block = getattr(self, name)
            block.eval()
            for param in block.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'WSOLInceptionV3':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
