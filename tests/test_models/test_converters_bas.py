# Copyright (c) mmwsl contributors. All rights reserved.
"""convert_bas and tools/model_converters/bas2mmwsl.py.

Each official key list (``specs/official_keys/bas_<arch>_keys.json``, copied
into ``tests/data/bas_official_keys``) becomes a state dict with
deterministic values. It is loaded strictly into a reference model written
after the official code (the same module names; torchvision parts where the
official code uses them), converted, loaded strictly into ``mmwsl.BAS``, and
both models must give the same logits, foreground maps and localization
maps.
"""

import importlib.util
import json
import os.path as osp
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from bas_builders import build_bas
from mmpretrain.structures import DataSample

from mmwsl.models.converters import convert_bas

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
KEYS_DIR = osp.join(ROOT, 'tests', 'data', 'bas_official_keys')
ARCHS = ('vgg16', 'resnet50', 'mobilenetv1', 'inceptionv3')


def official_keys(arch):
    with open(osp.join(KEYS_DIR, f'bas_{arch}_keys.json')) as f:
        return json.load(f)


def official_state_dict(arch, seed=0):
    """Deterministic tensors with the official keys and shapes: He-scaled
    conv weights, BN statistics near identity, distinct values per tensor.
    """
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape, dtype in official_keys(arch):
        if dtype == 'int64':
            state[key] = torch.tensor(len(state), dtype=torch.int64)
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = (
                torch.randn(shape, generator=gen) * (1.0 / fan_in) ** 0.5
            )
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        elif key.endswith('running_mean'):
            state[key] = torch.randn(shape, generator=gen) * 0.1
        elif key.endswith('weight'):  # BN scale
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:  # BN shift or conv bias
            state[key] = torch.randn(shape, generator=gen) * 0.05
    return state


# ---------------------------------------------------------------------------
# Reference models with the official module names (BAS-Extension, WSOL).
# forward returns (S, M, A): logits, generator maps, class activation maps.
# ---------------------------------------------------------------------------
def _cls_head(in_channels, num_classes):
    return nn.Sequential(
        nn.Conv2d(in_channels, 1024, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(1024, 1024, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(1024, num_classes, 1),
    )


def _loc_head(in_channels, num_classes):
    return nn.Sequential(
        nn.Conv2d(in_channels, num_classes, 3, padding=1), nn.Sigmoid()
    )


class OfficialVGG(nn.Module):
    stages = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))

    def __init__(self, num_classes):
        super().__init__()
        channels = 3
        for s, (width, num) in enumerate(self.stages):
            for i in range(num):
                self.add_module(
                    f'conv{s + 1}_{i + 1}',
                    nn.Conv2d(channels, width, 3, padding=1),
                )
                channels = width
        self.classifier_cls = _cls_head(512, num_classes)
        self.classifier_loc = _loc_head(512, num_classes)

    def forward(self, x):
        for s, (_, num) in enumerate(self.stages):
            for i in range(num):
                x = F.relu(getattr(self, f'conv{s + 1}_{i + 1}')(x))
            if s == 3:
                tap = x
            if s < 4:  # pool1-pool4; pool5 is never used
                x = F.max_pool2d(x, 2)
        cams = self.classifier_cls(x)
        return cams.mean((2, 3)), self.classifier_loc(tap), cams


class OfficialResNet50(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        net = torchvision.models.resnet50()
        # layer3 and layer4 at stride 1 (their first blocks keep the 1x1
        # downsample conv); the 2x2 max-pool halves the tap instead.
        for layer in (net.layer3, net.layer4):
            layer[0].conv2.stride = (1, 1)
            layer[0].downsample[0].stride = (1, 1)
        for name in (
            'conv1',
            'bn1',
            'relu',
            'maxpool',
            'layer1',
            'layer2',
            'layer3',
            'layer4',
        ):
            self.add_module(name, getattr(net, name))
        self.classifier_cls = _cls_head(2048, num_classes)
        self.classifier_loc = _loc_head(1024, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        tap = self.layer3(self.layer2(self.layer1(x)))
        x = self.layer4(F.max_pool2d(tap, kernel_size=2))
        cams = self.classifier_cls(x)
        return cams.mean((2, 3)), self.classifier_loc(tap), cams


def _conv_bn(inp, oup, stride):
    return nn.Sequential(
        nn.Conv2d(inp, oup, 3, stride, 1, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU(inplace=True),
    )


def _conv_dw(inp, oup, stride):
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.ReLU(inplace=True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU(inplace=True),
    )


class OfficialMobileNetV1(nn.Module):
    blocks = (
        (32, 64, 1),
        (64, 128, 2),
        (128, 128, 1),
        (128, 256, 2),
        (256, 256, 1),
        (256, 512, 1),
        (512, 512, 1),
        (512, 512, 1),
        (512, 512, 1),
        (512, 512, 1),
        (512, 512, 1),
        (512, 1024, 2),
        (1024, 1024, 1),
    )

    def __init__(self, num_classes):
        super().__init__()
        self.model = nn.Sequential(
            _conv_bn(3, 32, 2), *[_conv_dw(*b) for b in self.blocks]
        )
        self.classifier_cls = _cls_head(1024, num_classes)
        self.classifier_loc = _loc_head(512, num_classes)

    def forward(self, x):
        tap = self.model[:-2](x)
        cams = self.classifier_cls(self.model[-2:](tap))
        return cams.mean((2, 3)), self.classifier_loc(tap), cams


def _mixed_6a_forward(self, x):
    """torchvision InceptionB with both strided convs and the pool at
    stride 1 (the convs are changed in place)."""
    return [
        self.branch3x3(x),
        self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
        F.max_pool2d(x, kernel_size=3, stride=1, padding=1),
    ]


def _mixed_7a_forward(self, x):
    """torchvision InceptionD with padding 1 on the strided convs/pool."""
    b7 = self.branch7x7x3_1(x)
    b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(b7)))
    return [
        self.branch3x3_2(self.branch3x3_1(x)),
        b7,
        F.max_pool2d(x, kernel_size=3, stride=2, padding=1),
    ]


class OfficialInceptionV3(nn.Module):
    blocks = (
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
    )
    late = ('Mixed_7a', 'Mixed_7b', 'Mixed_7c')

    def __init__(self, num_classes):
        super().__init__()
        net = torchvision.models.inception_v3(
            weights=None, aux_logits=False, init_weights=False
        )
        net.Conv2d_1a_3x3.conv.padding = (1, 1)
        net.maxpool1 = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)
        net.maxpool2 = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)
        for conv in (net.Mixed_6a.branch3x3, net.Mixed_6a.branch3x3dbl_3):
            conv.conv.stride, conv.conv.padding = (1, 1), (1, 1)
        net.Mixed_6a._forward = types.MethodType(
            _mixed_6a_forward, net.Mixed_6a
        )
        for conv in (net.Mixed_7a.branch3x3_2, net.Mixed_7a.branch7x7x3_4):
            conv.conv.padding = (1, 1)
        net.Mixed_7a._forward = types.MethodType(
            _mixed_7a_forward, net.Mixed_7a
        )
        for name in self.blocks + self.late:
            self.add_module(name, getattr(net, name))
        self.classifier_cls = _cls_head(2048, num_classes)
        self.classifier_loc = _loc_head(768, num_classes)

    def forward(self, x):
        for name in self.blocks:
            x = getattr(self, name)(x)
        tap = x
        for name in self.late:
            x = getattr(self, name)(x)
        cams = self.classifier_cls(x)
        return cams.mean((2, 3)), self.classifier_loc(tap), cams


OFFICIAL = dict(
    vgg16=OfficialVGG,
    resnet50=OfficialResNet50,
    mobilenetv1=OfficialMobileNetV1,
    inceptionv3=OfficialInceptionV3,
)


def official_localization_map(fg_map, size):
    """BAS-Extension: (m - min) / (max - min + 1e-5), bilinear resize."""
    norm = (fg_map - fg_map.min()) / (fg_map.max() - fg_map.min() + 1e-5)
    return F.interpolate(
        norm[None, None], size=size, mode='bilinear', align_corners=False
    )[0, 0]


@pytest.mark.parametrize('arch', ARCHS)
def test_convert_official_checkpoint(arch):
    state = official_state_dict(arch)
    reference = OFFICIAL[arch](num_classes=200)
    reference.load_state_dict(state, strict=True)
    # Every official tensor lands in exactly one mmwsl parameter/buffer.
    converted = convert_bas(state, arch)
    model = build_bas(arch, num_classes=200)
    assert len(converted) == len(state)
    assert set(converted) == set(model.state_dict())
    model.load_state_dict(converted, strict=True)
    loaded = model.state_dict()
    for (key, _, _), new_key in zip(official_keys(arch), converted):
        assert torch.equal(loaded[new_key], state[key]), (key, new_key)

    # Same outputs (eval mode; 64 px keeps the test fast).
    reference.eval()
    model.eval()
    torch.manual_seed(1)
    inputs = torch.randn(2, 3, 64, 64)
    labels = [5, 120]
    with torch.no_grad():
        score, fg_map, cams = reference(inputs)
        out = model(inputs, mode='tensor')
        samples = model(
            inputs,
            [DataSample().set_gt_label(y) for y in labels],
            mode='predict',
        )
    tol = dict(rtol=1e-4, atol=1e-4 * float(score.abs().max()))
    torch.testing.assert_close(out['cls_score'], score, **tol)
    torch.testing.assert_close(
        out['cams'], cams, rtol=1e-4, atol=1e-4 * float(cams.abs().max())
    )
    torch.testing.assert_close(out['fg_map'], fg_map, rtol=1e-4, atol=1e-5)
    for i, y in enumerate(labels):
        expected = official_localization_map(fg_map[i, y], (64, 64))
        torch.testing.assert_close(samples[i].cam, expected, rtol=0, atol=1e-6)


def test_convert_with_module_prefix_and_copies():
    state = official_state_dict('mobilenetv1')
    wrapped = {f'module.{k}': v for k, v in state.items()}
    # CVPR ILSVRC models keep persistent copies of the late stage and head.
    wrapped['module.classifier_cls_copy.0.weight'] = torch.zeros(1)
    wrapped['module.layer4_copy.0.conv1.weight'] = torch.zeros(1)
    converted = convert_bas(wrapped, 'mobilenetv1')
    assert list(converted) == list(convert_bas(state, 'mobilenetv1'))
    assert (
        converted['backbone.layers.1.pointwise_conv.bn.running_var']
        is state['model.1.4.running_var']
    )


def test_convert_cvpr_inception_head_name():
    # The CVPR CUB InceptionV3 calls h "classifier".
    converted = convert_bas(
        {
            'classifier.0.weight': torch.zeros(1),
            'classifier.4.bias': torch.zeros(1),
            'Mixed_7c.branch_pool.bn.running_mean': torch.zeros(1),
        },
        'inceptionv3',
    )
    assert list(converted) == [
        'head.classifier.0.weight',
        'head.classifier.4.bias',
        'backbone.Mixed_7c.branch_pool.bn.running_mean',
    ]


def test_convert_errors():
    state = official_state_dict('vgg16')
    with pytest.raises(ValueError, match='arch must be one of'):
        convert_bas(state, 'resnet18')
    # A ResNet checkpoint given as VGG: the offending keys are named.
    with pytest.raises(ValueError, match=r'not part of .* vgg16.*layer1\.0'):
        convert_bas(
            {
                'conv1_1.weight': torch.zeros(1),
                'layer1.0.conv1.weight': torch.zeros(1),
            },
            'vgg16',
        )
    with pytest.raises(ValueError, match='fc.weight'):
        convert_bas({'fc.weight': torch.zeros(1)}, 'resnet50')
    with pytest.raises(ValueError, match='no BAS weights'):
        convert_bas({}, 'resnet50')
    with pytest.raises(ValueError, match='map to'):
        convert_bas(
            {
                'classifier.0.weight': torch.zeros(1),
                'classifier_cls.0.weight': torch.zeros(1),
            },
            'inceptionv3',
        )


def _tool():
    path = osp.join(ROOT, 'tools', 'model_converters', 'bas2mmwsl.py')
    spec = importlib.util.spec_from_file_location('bas2mmwsl', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_tool(tmp_path):
    tool = _tool()
    state = {
        'module.model.0.0.weight': torch.arange(6.0).view(1, 1, 2, 3),
        'module.classifier_loc.0.bias': torch.ones(2),
    }
    src, dst = tmp_path / 'official.pth.tar', tmp_path / 'mmwsl.pth'
    torch.save({'state_dict': state, 'epoch': 99}, src)
    tool.main([str(src), str(dst), '--arch', 'mobilenetv1'])
    out = torch.load(dst, weights_only=True)
    assert out['meta']['arch'] == 'mobilenetv1'
    assert list(out['state_dict']) == [
        'backbone.layers.0.conv.weight',
        'head.generator.bias',
    ]
    assert torch.equal(
        out['state_dict']['backbone.layers.0.conv.weight'],
        state['module.model.0.0.weight'],
    )
    with pytest.raises(ValueError, match='Check --arch'):
        tool.main([str(src), str(dst), '--arch', 'vgg16'])


def test_converter_tool_checks_config(tmp_path):
    tool = _tool()
    state = official_state_dict('mobilenetv1')
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmwsl.pth'
    torch.save(state, src)
    config = osp.join(ROOT, 'configs', 'bas', 'bas_mobilenetv1_cub.py')
    tool.main(
        [str(src), str(dst), '--arch', 'mobilenetv1', '--config', config]
    )
    assert dst.exists()
    # The ILSVRC model has 1000 classes: the shapes are named.
    config = osp.join(ROOT, 'configs', 'bas', 'bas_mobilenetv1_ilsvrc.py')
    with pytest.raises(ValueError, match='head.generator.weight'):
        tool.main(
            [str(src), str(dst), '--arch', 'mobilenetv1', '--config', config]
        )


def test_official_localization_map_matches_cv2():
    """The reference map above equals cv2's bilinear resize (as the BAS
    evaluator uses it) to float32 precision."""
    import cv2

    fg = torch.rand(28, 28)
    ours = official_localization_map(fg, (224, 224)).numpy()
    norm = ((fg - fg.min()) / (fg.max() - fg.min() + 1e-5)).numpy()
    theirs = cv2.resize(norm, (224, 224), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
