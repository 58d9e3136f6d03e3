# Copyright (c) mmwsl contributors. All rights reserved.
"""ADL: attention-based dropout layer (Choe & Shim, CVPR 2019)."""
from typing import Optional, Union

import torch
import torch.nn as nn

from mmwsl.registry import MODELS


def attention_drop_mask(x: torch.Tensor, gamma: float) -> torch.Tensor:
    """Drop mask of the most activated positions of a feature map.

    ``A = mean_c x`` and ``D = 1[A < gamma * max_{h,w} A]`` per sample
    (strict ``<``): 0 where the channel-mean attention reaches
    ``gamma`` times its maximum. Shared by ADL and EIL. If ``A`` is 0
    everywhere, every position is dropped; if its maximum is negative,
    none is.

    Args:
        x: ``(B, C, H, W)`` features.
        gamma: Drop threshold relative to the per-sample maximum.

    Returns:
        ``(B, 1, H, W)`` mask of 0/1 in the dtype of ``x`` (no gradient).
    """
    attention = x.detach().mean(1, keepdim=True)
    peak = attention.flatten(1).amax(1).view(-1, 1, 1, 1)
    return (attention < gamma * peak).to(x.dtype)


@MODELS.register_module()
class ADL(nn.Module):
    """Attention-based dropout layer; identity in eval mode.

    For an input ``x`` ``(B, C, H, W)`` in training, with the channel-mean
    attention ``A`` ``(B, 1, H, W)``::

        I = sigmoid(A)                          importance map
        D = 1[A < gamma * max A]                drop mask (per sample)
        b = floor(r + drop_rate), r ~ U[0, 1)   P(b = 1) = drop_rate
        y = x * ((1 - b) * I + b * D)

    ``r`` is one draw per forward call, shared by the whole batch (as both
    reference implementations), or one per sample with ``per_sample=True``
    (not standard). Gradients flow through the importance map, not
    through the drop mask.

    Args:
        drop_rate: Probability of applying the drop mask instead of the
            importance map (0.75 in both references).
        gamma: Drop threshold relative to the maximum attention
            (wsolevaluation's ``--adl_threshold`` default 0.9; its ``ADL``
            class default is 0.8).
        per_sample: Draw ``b`` per sample instead of per batch.
    """

    def __init__(self,
                 drop_rate: float = 0.75,
                 gamma: float = 0.9,
                 per_sample: bool = False):
        super().__init__()
        if not 0. <= drop_rate <= 1.:
            raise ValueError(f'drop_rate must be in [0, 1], got {drop_rate}.')
        self.drop_rate = drop_rate
        self.gamma = gamma
        self.per_sample = per_sample

    def extra_repr(self) -> str:
        return (f'drop_rate={self.drop_rate}, gamma={self.gamma}, '
                f'per_sample={self.per_sample}')

    def apply_after(self, module: nn.Module, inputs: tuple,
                    output: torch.Tensor) -> torch.Tensor:
        """Forward hook: apply ADL to ``module``'s output."""
        return self(output)

    def forward(self,
                x: torch.Tensor,
                random_value: Optional[Union[float, torch.Tensor]] = None
                ) -> torch.Tensor:
        """Apply ADL.

        Args:
            x: ``(B, C, H, W)`` features.
            random_value: The uniform draw ``r`` (a float, or a ``(B, )``
                tensor when ``per_sample``); drawn from torch's global
                generator when None. For tests and reproducible analyses.

        Returns:
            ``(B, C, H, W)``: ``x`` itself in eval mode.
        """
        if not self.training:
            return x
        if x.dim() != 4:
            raise ValueError(f'ADL expects (B, C, H, W) features, got '
                             f'{tuple(x.shape)}.')
        shape = (x.size(0), ) if self.per_sample else ()
        if random_value is None:
            r = torch.rand(shape, device=x.device)
        else:
            r = torch.as_tensor(random_value, dtype=torch.float32,
                                device=x.device)
            if r.numel() == 1:
                r = r.reshape(()).expand(shape)
            elif self.per_sample and r.numel() == x.size(0):
                r = r.reshape(shape)
            else:
                raise ValueError(
                    f'random_value must hold 1 value (or {x.size(0)} '
                    f'with per_sample), got shape {tuple(r.shape)}.')
        use_drop = torch.floor(r + self.drop_rate).to(x.dtype)
        if self.per_sample:
            use_drop = use_drop.view(-1, 1, 1, 1)
        importance = torch.sigmoid(x.mean(1, keepdim=True))
        drop = attention_drop_mask(x, self.gamma)
        return x * ((1 - use_drop) * importance + use_drop * drop)
