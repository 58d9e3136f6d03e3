# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN's class-boundary and displacement branches (``specs/bas.md`` 5.3).

Both branches read the five stages of a (frozen) ResNet: the stem after the
max-pool (stride 4), layer1 (4), layer2 (8), layer3 (16) and layer4 (16, IRN
uses strides (1, 2, 2, 1)). Every stage goes through a 1x1 conv, GroupNorm,
(bilinear upsampling) and ReLU; then

* boundary: the five stride-4 maps are concatenated and a 1x1 conv with
  bias gives one logit per stride-4 cell;
* displacement: layer2-4 are brought to stride 8, concatenated, reduced and
  upsampled to stride 4, concatenated with the stem/layer1 maps and reduced
  to a 2-channel field.

IRN's widths (ResNet-50): 32 channels per boundary stage, (64, 128, 256)
for the displacement branch. GroupNorm uses 8 channels per group in the
boundary branch and the first two displacement stages, 16 elsewhere.
"""

from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmwsl.registry import MODELS


class _Stage(nn.Sequential):
    """1x1 conv (no bias), GroupNorm, optional x``scale`` upsampling, ReLU."""

    def __init__(self, cin: int, cout: int, group_size: int, scale: int = 1):
        layers = [
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.GroupNorm(max(1, cout // group_size), cout),
        ]
        if scale > 1:
            layers.append(
                nn.Upsample(
                    scale_factor=scale, mode='bilinear', align_corners=False
                )
            )
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def _fit(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Crop (or zero-pad at the bottom/right) a map to ``(h, w)``."""
    if x.shape[-2] < h or x.shape[-1] < w:
        x = F.pad(x, (0, max(0, w - x.shape[-1]), 0, max(0, h - x.shape[-2])))
    return x[..., :h, :w]


@MODELS.register_module()
class IRNHead(BaseModule):
    """Boundary and displacement branches of IRN.

    Args:
        in_channels: channels of the five stages (stem, layer1..layer4);
            ResNet-50: ``(64, 256, 512, 1024, 2048)``.
        edge_channels: channels per boundary stage (IRN: 32).
        dp_channels: displacement widths ``(stem, layer1, deeper)`` (IRN:
            ``(64, 128, 256)``).
        init_cfg: initialisation config (PyTorch defaults, as IRN).
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (64, 256, 512, 1024, 2048),
        edge_channels: int = 32,
        dp_channels: Sequence[int] = (64, 128, 256),
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 5:
            raise ValueError(
                f'IRNHead needs the channels of 5 stages, got {in_channels}.'
            )
        c1, c2, c3, c4, c5 = in_channels
        e = edge_channels
        d1, d2, d3 = dp_channels
        self.edge_layers = nn.ModuleList(
            [
                _Stage(c1, e, 8),
                _Stage(c2, e, 8),
                _Stage(c3, e, 8, 2),
                _Stage(c4, e, 8, 4),
                _Stage(c5, e, 8, 4),
            ]
        )
        self.edge_out = nn.Conv2d(5 * e, 1, 1, bias=True)
        self.dp_layers = nn.ModuleList(
            [
                _Stage(c1, d1, 8),
                _Stage(c2, d2, 8),
                _Stage(c3, d3, 16),
                _Stage(c4, d3, 16, 2),
                _Stage(c5, d3, 16, 2),
                _Stage(3 * d3, d3, 16, 2),
            ]
        )
        self.dp_out = nn.Sequential(
            _Stage(d1 + d2 + d3, d3, 16),
            nn.Conv2d(d3, 2, 1, bias=False),
        )

    def forward(
        self, feats: Sequence[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            feats: the five stage maps, ``(B, C_i, h_i, w_i)``.

        Returns:
            tuple: boundary logits ``(B, 1, h, w)`` and displacement
            ``(B, 2, h, w)`` at the stem's (stride-4) size ``(h, w)``.
        """
        h, w = feats[1].shape[-2:]
        edges = [
            _fit(layer(f), h, w) for layer, f in zip(self.edge_layers, feats)
        ]
        edge = self.edge_out(torch.cat(edges, 1))

        d = [layer(f) for layer, f in zip(self.dp_layers[:5], feats)]
        h8, w8 = d[2].shape[-2:]
        deep = torch.cat([d[2], _fit(d[3], h8, w8), _fit(d[4], h8, w8)], 1)
        up = _fit(self.dp_layers[5](deep), h, w)
        disp = self.dp_out(torch.cat([d[0], d[1], up], 1))
        return edge, disp
