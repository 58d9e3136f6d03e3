# Copyright (c) mmwsl contributors. All rights reserved.
"""Model configs of the four BAS WSOL backbones, shared by the BAS tests.

They match the ``model`` of ``configs/bas/bas_<arch>_cub.py`` except for
the initialisation (no checkpoints) and what a test overrides.
"""

import copy

from mmwsl.registry import MODELS

BAS_MOBILENET_STRIDES = (2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1)

ARCHS = {
    'vgg16': dict(
        backbone=dict(type='mmpretrain.VGG', depth=16, with_last_pool=False),
        tap='features.12',
        late_pool=None,
        tap_channels=512,
        in_channels=512,
    ),
    'resnet50': dict(
        backbone=dict(
            type='mmpretrain.ResNet', depth=50, strides=(1, 2, 1, 1)
        ),
        tap='layer3',
        late_pool=2,
        tap_channels=1024,
        in_channels=2048,
    ),
    'mobilenetv1': dict(
        backbone=dict(type='mmwsl.MobileNetV1', strides=BAS_MOBILENET_STRIDES),
        tap='layers.11',
        late_pool=None,
        tap_channels=512,
        in_channels=1024,
    ),
    'inceptionv3': dict(
        backbone=dict(type='mmwsl.WSOLInceptionV3'),
        tap='Mixed_6e',
        late_pool=None,
        tap_channels=768,
        in_channels=2048,
    ),
}


def bas_cfg(arch: str, num_classes: int = 200, **head_kwargs) -> dict:
    """``mmwsl.BAS`` config for ``arch`` with a ``BASHead``."""
    spec = copy.deepcopy(ARCHS[arch])
    head = dict(
        type='mmwsl.BASHead',
        num_classes=num_classes,
        in_channels=spec['in_channels'],
        tap_channels=spec['tap_channels'],
    )
    head.update(head_kwargs)
    return dict(
        type='mmwsl.BAS',
        backbone=spec['backbone'],
        tap=spec['tap'],
        late_pool=spec['late_pool'],
        head=head,
    )


def build_bas(arch: str, num_classes: int = 200, **head_kwargs):
    return MODELS.build(bas_cfg(arch, num_classes, **head_kwargs))
