# Copyright (c) mmwsl contributors. All rights reserved.
"""Official BAS checkpoints (wpy1999/BAS, wpy1999/BAS-Extension) -> mmwsl.

The converted state dict loads strictly into the ``mmwsl.BAS`` models of
``configs/bas/bas_<arch>_*.py``:

=================  ==========================================================
official           mmwsl
=================  ==========================================================
``classifier_cls``  ``head.classifier`` (``classifier`` in the CVPR CUB
                    InceptionV3 model)
``classifier_loc.0`` ``head.generator``
VGG16 ``convS_I``  ``backbone.features.<n>.conv`` (mmpretrain ``VGG``)
ResNet50           ``backbone.`` + the same name (mmpretrain ``ResNet``)
MobileNetV1        ``model.<i>.<j>`` -> ``backbone.layers.<i>.`` +
                   ``conv``/``bn`` (block 0) or ``depthwise_conv.conv``,
                   ``depthwise_conv.bn``, ``pointwise_conv.conv``,
                   ``pointwise_conv.bn`` (j = 0, 1, 3, 4)
InceptionV3        ``backbone.`` + the same name
=================  ==========================================================

A ``module.`` prefix (DataParallel/DDP checkpoints) is stripped, and the
persistent ``*_copy`` modules of the CVPR ILSVRC models (throw-away copies
of the late stage and head, refreshed from the real weights every step) are
dropped.
"""

import re
from collections import OrderedDict
from typing import Callable, Dict, Mapping, Optional

import torch

ARCHS = ('vgg16', 'resnet50', 'mobilenetv1', 'inceptionv3')

# Index of each VGG16 conv in mmpretrain's ``VGG.features`` (convs and
# pools in order, two/two/three/three/three convs per stage).
_VGG16_CONVS = {
    f'conv{stage + 1}_{i + 1}': sum(n + 1 for n in (2, 2, 3, 3)[:stage]) + i
    for stage, num in enumerate((2, 2, 3, 3, 3))
    for i in range(num)
}
_MOBILENET_PARTS = {
    '0': 'depthwise_conv.conv',
    '1': 'depthwise_conv.bn',
    '3': 'pointwise_conv.conv',
    '4': 'pointwise_conv.bn',
}


def _head(key: str) -> Optional[str]:
    match = re.fullmatch(r'(classifier_cls|classifier)\.(\d+)\.(\w+)', key)
    if match:
        return f'head.classifier.{match.group(2)}.{match.group(3)}'
    match = re.fullmatch(r'classifier_loc\.0\.(weight|bias)', key)
    if match:
        return f'head.generator.{match.group(1)}'
    return None


def _vgg16(key: str) -> Optional[str]:
    match = re.fullmatch(r'(conv\d_\d)\.(weight|bias)', key)
    if match and match.group(1) in _VGG16_CONVS:
        index = _VGG16_CONVS[match.group(1)]
        return f'backbone.features.{index}.conv.{match.group(2)}'
    return None


def _resnet50(key: str) -> Optional[str]:
    if re.match(r'(conv1|bn1|layer[1-4])\.', key):
        return f'backbone.{key}'
    return None


def _mobilenetv1(key: str) -> Optional[str]:
    match = re.fullmatch(r'model\.(\d+)\.(\d+)\.(\w+)', key)
    if match is None:
        return None
    block, part, name = match.groups()
    if int(block) > 13:
        return None
    if block == '0':
        part = {'0': 'conv', '1': 'bn'}.get(part)
    else:
        part = _MOBILENET_PARTS.get(part)
    return None if part is None else f'backbone.layers.{block}.{part}.{name}'


def _inceptionv3(key: str) -> Optional[str]:
    if re.match(r'(Conv2d_\w+|Mixed_\w+)\.', key):
        return f'backbone.{key}'
    return None


_BACKBONES: Dict[str, Callable[[str], Optional[str]]] = dict(
    vgg16=_vgg16,
    resnet50=_resnet50,
    mobilenetv1=_mobilenetv1,
    inceptionv3=_inceptionv3,
)


def convert_bas(
    state_dict: Mapping[str, torch.Tensor], arch: str
) -> 'OrderedDict[str, torch.Tensor]':
    """Convert an official BAS WSOL state dict to mmwsl names.

    Args:
        state_dict: The official model's ``state_dict()`` (optionally with a
            ``module.`` prefix on every key).
        arch: One of ``'vgg16'``, ``'resnet50'``, ``'mobilenetv1'``,
            ``'inceptionv3'``.

    Returns:
        State dict for ``mmwsl.BAS`` (the tensors themselves, not copies).

    Raises:
        ValueError: for an unknown ``arch`` or keys that belong to no part of
            the official model (they are listed).
    """
    if arch not in _BACKBONES:
        raise ValueError(f'arch must be one of {ARCHS}, got {arch!r}')
    backbone = _BACKBONES[arch]
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    unexpected = []
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.') :]
        if key.split('.', 1)[0].endswith('_copy'):
            continue
        new_key = _head(key) or backbone(key)
        if new_key is None:
            unexpected.append(key)
        elif new_key in converted:
            raise ValueError(
                f'Two official keys map to {new_key!r} (one is '
                f'{key!r}); is the checkpoint a mix of models?'
            )
        else:
            converted[new_key] = value
    if unexpected:
        shown = ', '.join(unexpected[:20])
        more = (
            f' (and {len(unexpected) - 20} more)'
            if len(unexpected) > 20
            else ''
        )
        raise ValueError(
            f'{len(unexpected)} keys of the checkpoint are not '
            f'part of an official BAS {arch} model: {shown}'
            f'{more}. Check --arch.'
        )
    if not converted:
        raise ValueError('The checkpoint holds no BAS weights.')
    return converted
