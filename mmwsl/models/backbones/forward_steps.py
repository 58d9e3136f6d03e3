# Copyright (c) mmwsl contributors. All rights reserved.
"""Backbones as ordered lists of submodules ("forward steps").

Methods that cut a backbone in two (BAS takes a feature map in the middle
and re-runs the late part on other features) need the backbone as a chain
of submodules whose sequential application equals its ``forward``. mmwsl
backbones expose the chain through a ``forward_steps()`` method; for the
mmpretrain backbones that are such chains it is derived here.
"""

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.backbones import VGG, ResNet


def forward_steps(backbone: nn.Module) -> List[str]:
    """Names (as in ``backbone.get_submodule``) of the submodules that, run
    one after the other, compute the backbone's last feature map.

    Supported: mmwsl backbones with a ``forward_steps`` method, mmpretrain
    ``ResNet`` (and its subclasses such as ``ResNetV1c``/``ResNetV1d``;
    every stage is one step) and mmpretrain ``VGG`` without classifier
    (every conv block and pool is one step: ``features.<i>``).

    Raises:
        TypeError: for any other backbone.
    """
    if hasattr(backbone, 'forward_steps'):
        return list(backbone.forward_steps())
    if isinstance(backbone, ResNet):
        if backbone.deep_stem:
            stem = ['stem']
        else:
            stem = ['conv1', backbone.norm1_name, 'relu']
        return stem + ['maxpool'] + list(backbone.res_layers)
    if isinstance(backbone, VGG):
        if backbone.num_classes > 0:
            raise TypeError(
                'mmpretrain VGG with a classifier '
                '(num_classes > 0) cannot be split; set '
                'num_classes=-1.'
            )
        return [f'features.{i}' for i in range(len(backbone.features))]
    raise TypeError(
        f'{type(backbone).__name__} cannot be split into forward steps; '
        f'supported are mmpretrain ResNet/VGG and backbones with a '
        f'forward_steps() method (e.g. mmwsl.MobileNetV1, '
        f'mmwsl.WSOLInceptionV3).'
    )


def split_steps(backbone: nn.Module, tap: str) -> Tuple[List[str], List[str]]:
    """Split :func:`forward_steps` after the step named ``tap``.

    Returns:
        ``(lower, late)``: the steps up to and including ``tap`` and the
        remaining ones.

    Raises:
        ValueError: if ``tap`` is not a step or is the last one.
    """
    steps = forward_steps(backbone)
    if tap not in steps:
        raise ValueError(
            f'tap={tap!r} is not a forward step of '
            f'{type(backbone).__name__}; choose one of {steps}'
        )
    index = steps.index(tap) + 1
    if index == len(steps):
        raise ValueError(
            f'tap={tap!r} is the last step of '
            f'{type(backbone).__name__}: nothing is left for '
            f'the late stage.'
        )
    return steps[:index], steps[index:]


def run_steps(
    backbone: nn.Module, steps: Sequence[str], x: torch.Tensor
) -> torch.Tensor:
    """Apply the named submodules of ``backbone`` to ``x`` in order."""
    for name in steps:
        x = backbone.get_submodule(name)(x)
    return x
