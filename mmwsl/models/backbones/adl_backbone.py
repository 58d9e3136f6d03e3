# Copyright (c) mmwsl contributors. All rights reserved.
"""Insert ADL layers after chosen blocks of any backbone."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmwsl.models.layers import ADL
from mmwsl.registry import MODELS

Position = Union[str, Tuple[str, int], List]


def _position_name(position: Position) -> str:
    """``('layer3', 0)`` -> ``'layer3.0'``; dotted names pass through."""
    if isinstance(position, str):
        return position
    if isinstance(position, (tuple, list)) and len(position) == 2:
        return f'{position[0]}.{int(position[1])}'
    raise TypeError(f'ADL position must be a module name or a (stage, '
                    f'block) pair, got {position!r}.')


@MODELS.register_module()
class ADLBackbone(BaseModule):
    """A backbone with ADL applied to the outputs of chosen submodules.

    Each position names a submodule of the wrapped backbone (a dotted
    name such as ``'features.9'``, or a ``(stage, block)`` pair such as
    ``('layer3', 0)`` for ``layer3.0``); a forward hook passes that
    submodule's output through its own :class:`ADL`. The backbone's
    forward and parameter names are unchanged (under ``backbone.``), so
    pretrained weights load as usual. ADL has no parameters and is the
    identity in eval mode, so inference equals the plain backbone.

    mmcv/mmpretrain ``plugins`` cannot do this: they sit inside a
    bottleneck, while ADL follows whole blocks.

    Positions of the references (wsolevaluation, official ADL):

    * ResNet-50: ``[('layer3', 0), ('layer4', 0), ('layer4', 2)]``;
    * mmpretrain VGG-16 (``features`` indices): after pool3 ``'features.9'``,
      conv4_3 ``'features.12'`` and conv5_3 ``'features.16'``.

    Args:
        backbone: Config of the wrapped backbone.
        insert_after: Positions, in any order; each at most once.
        drop_rate: ADL drop rate of every inserted layer.
        gamma: ADL threshold of every inserted layer.
        per_sample: ADL draw per sample instead of per batch.
        init_cfg: Initialisation config of the wrapper (the wrapped
            backbone keeps its own ``init_cfg``).
    """

    def __init__(self,
                 backbone: dict,
                 insert_after: Sequence[Position],
                 drop_rate: float = 0.75,
                 gamma: float = 0.9,
                 per_sample: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        names = [_position_name(p) for p in insert_after]
        if not names:
            raise ValueError('insert_after is empty: give at least one '
                             'position for ADL.')
        if len(set(names)) != len(names):
            raise ValueError(f'insert_after repeats a position: {names}.')
        self.positions = names
        self.adl_layers = nn.ModuleDict()
        for name in names:
            try:
                target = self.backbone.get_submodule(name)
            except AttributeError as e:
                raise ValueError(
                    f'ADL position {name!r} is not a submodule of '
                    f'{type(self.backbone).__name__}.') from e
            adl = ADL(drop_rate=drop_rate, gamma=gamma,
                      per_sample=per_sample)
            self.adl_layers[name.replace('.', '_')] = adl
            target.register_forward_hook(adl.apply_after)

    def forward(self, x: torch.Tensor):
        return self.backbone(x)
