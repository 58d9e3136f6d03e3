# Copyright (c) mmwsl contributors. All rights reserved.
"""WSOL backbones (MobileNetV1, WSOLInceptionV3) and the forward-step view
of backbones used to cut them (BAS spec sections 1.1-1.4)."""

import pytest
import torch
import torch.nn as nn
import torchvision
from mmpretrain.models.backbones import VGG, InceptionV3, ResNet, ResNetV1c

from mmwsl.models.backbones import (
    MobileNetV1,
    WSOLInceptionV3,
    forward_steps,
    run_steps,
    split_steps,
)
from mmwsl.registry import MODELS

BAS_STRIDES = (2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1)


def _shapes_by_step(backbone, size):
    """Output shape of every forward step on a meta-device input."""
    backbone.to('meta')
    backbone.eval()
    x = torch.empty(1, 3, size, size, device='meta')
    shapes = {}
    for name in forward_steps(backbone):
        x = backbone.get_submodule(name)(x)
        shapes[name] = tuple(x.shape[1:])
    return shapes


def test_mobilenet_v1_structure():
    model = MODELS.build(dict(type='mmwsl.MobileNetV1'))
    assert isinstance(model, MobileNetV1)
    # Block 0: conv-BN-ReLU; blocks 1-13 depthwise + pointwise, no biases.
    assert model.layers[0].conv.stride == (2, 2)
    dw = model.layers[6].depthwise_conv.conv
    assert dw.groups == dw.in_channels == 256 and dw.padding == (1, 1)
    assert all(
        m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d)
    )
    assert all(
        isinstance(m, nn.ReLU)
        for n, m in model.named_modules()
        if n.endswith('activate')
    )
    # The usual MobileNetV1 (without classifier) has ~3.21M parameters.
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert params == pytest.approx(3.207, abs=0.001)


def test_mobilenet_v1_strides():
    standard = _shapes_by_step(MobileNetV1(), 224)
    assert standard['layers.13'] == (1024, 7, 7)
    shapes = _shapes_by_step(MobileNetV1(strides=BAS_STRIDES), 224)
    assert shapes['layers.6'] == (512, 28, 28)
    assert shapes['layers.11'] == (512, 28, 28)
    assert shapes['layers.13'] == (1024, 14, 14)


def test_mobilenet_v1_outputs_and_freezing():
    model = MobileNetV1(
        strides=BAS_STRIDES,
        out_indices=(11, 13),
        frozen_stages=2,
        norm_eval=True,
    )
    model.train()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 512, 8, 8), (1, 1024, 4, 4)]
    assert not any(p.requires_grad for p in model.layers[:2].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert not any(
        m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    )
    with pytest.raises(ValueError, match='14 entries'):
        MobileNetV1(strides=(2, 1))
    with pytest.raises(ValueError, match='out_indices'):
        MobileNetV1(out_indices=(14,))


def test_inception_v3_geometry():
    """Shape chain at 224 (spec section 1.4)."""
    shapes = _shapes_by_step(WSOLInceptionV3(), 224)
    assert shapes['Conv2d_1a_3x3'] == (32, 112, 112)
    assert shapes['Conv2d_2a_3x3'] == (32, 110, 110)
    assert shapes['Conv2d_2b_3x3'] == (64, 110, 110)
    assert shapes['maxpool1'] == (64, 56, 56)
    assert shapes['Conv2d_3b_1x1'] == (80, 56, 56)
    assert shapes['Conv2d_4a_3x3'] == (192, 54, 54)
    assert shapes['maxpool2'] == (192, 28, 28)
    assert shapes['Mixed_5d'] == (288, 28, 28)
    assert shapes['Mixed_6a'] == (768, 28, 28)
    assert shapes['Mixed_6e'] == (768, 28, 28)
    assert shapes['Mixed_7a'] == (1280, 14, 14)
    assert shapes['Mixed_7c'] == (2048, 14, 14)


def test_inception_v3_block_settings():
    model = WSOLInceptionV3()
    assert model.Conv2d_1a_3x3.conv.padding == (1, 1)
    for pool in (model.maxpool1, model.maxpool2):
        assert (
            pool.kernel_size,
            pool.stride,
            pool.padding,
            pool.ceil_mode,
        ) == (3, 2, 1, True)
    for conv in (model.Mixed_6a.branch3x3, model.Mixed_6a.branch3x3dbl_3):
        assert conv.conv.stride == (1, 1) and conv.conv.padding == (1, 1)
    assert (
        model.Mixed_6a.branch_pool.stride,
        model.Mixed_6a.branch_pool.padding,
    ) == (1, 1)
    for conv in (model.Mixed_7a.branch3x3_2, model.Mixed_7a.branch7x7x3_4):
        assert conv.conv.stride == (2, 2) and conv.conv.padding == (1, 1)
    assert model.Mixed_5b.branch_pool_downsample.count_include_pad
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(bn.eps == 1e-3 for bn in bns)


def test_inception_v3_outputs_and_freezing():
    model = WSOLInceptionV3(out_indices=(14, 17), frozen_stages=3)
    model.train()
    tap, late = model(torch.randn(1, 3, 64, 64))
    assert tap.shape == (1, 768, 8, 8) and late.shape == (1, 2048, 4, 4)
    assert not model.Conv2d_2b_3x3.training
    assert not model.Conv2d_2b_3x3.conv.weight.requires_grad
    assert model.Conv2d_3b_1x1.conv.weight.requires_grad
    with pytest.raises(ValueError, match='out_indices'):
        WSOLInceptionV3(out_indices=(18,))


def _key_shapes(state_dict, drop=()):
    return {
        k: tuple(v.shape)
        for k, v in state_dict.items()
        if not k.startswith(drop)
    }


def test_inception_v3_loads_imagenet_weights():
    """Same names and shapes as mmpretrain's and torchvision's InceptionV3
    (without AuxLogits and fc), so their ImageNet weights load."""
    ours = _key_shapes(WSOLInceptionV3().state_dict())
    mmpretrain = _key_shapes(
        InceptionV3(aux_logits=False).state_dict(), drop=('fc.',)
    )
    assert ours == mmpretrain
    tv = torchvision.models.inception_v3(
        weights=None, aux_logits=False, init_weights=False
    )
    assert ours == _key_shapes(tv.state_dict(), drop=('fc.',))


BACKBONES = [
    dict(type='mmpretrain.ResNet', depth=50, strides=(1, 2, 1, 1)),
    dict(type='mmpretrain.ResNet', depth=18),
    dict(type='mmpretrain.ResNetV1c', depth=18),
    dict(type='mmpretrain.VGG', depth=16, with_last_pool=False),
    dict(type='mmwsl.MobileNetV1', strides=BAS_STRIDES),
    dict(type='mmwsl.WSOLInceptionV3'),
]


@pytest.mark.parametrize('cfg', BACKBONES, ids=lambda c: c['type'])
def test_forward_steps_reproduce_forward(cfg):
    torch.manual_seed(0)
    backbone = MODELS.build(cfg)
    backbone.eval()  # mmpretrain's ResNet.train returns None
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = backbone(x)[-1]
        torch.testing.assert_close(
            run_steps(backbone, forward_steps(backbone), x), expected
        )
        lower, late = split_steps(backbone, forward_steps(backbone)[-2])
        torch.testing.assert_close(
            run_steps(backbone, late, run_steps(backbone, lower, x)), expected
        )


def test_forward_steps_names():
    assert forward_steps(ResNet(depth=18)) == [
        'conv1',
        'bn1',
        'relu',
        'maxpool',
        'layer1',
        'layer2',
        'layer3',
        'layer4',
    ]
    assert forward_steps(ResNetV1c(depth=18))[:2] == ['stem', 'maxpool']
    assert (
        forward_steps(VGG(depth=16, with_last_pool=False))[-1] == 'features.16'
    )
    assert forward_steps(VGG(depth=16))[-1] == 'features.17'


def test_forward_steps_errors():
    with pytest.raises(TypeError, match='num_classes=-1'):
        forward_steps(VGG(depth=11, num_classes=10))
    with pytest.raises(TypeError, match='cannot be split'):
        forward_steps(nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match='choose one of'):
        split_steps(ResNet(depth=18), 'layer5')
    with pytest.raises(ValueError, match='last step'):
        split_steps(ResNet(depth=18), 'layer4')
