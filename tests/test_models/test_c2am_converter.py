# Copyright (c) mmwsl contributors. All rights reserved.
"""Official C²AM checkpoints -> mmwsl, checked against the official key
layouts (specs/official_keys/ccam_*.json, copied into this test)."""

import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmwsl.models.converters import convert_c2am, split_c2am_checkpoint
from mmwsl.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'c2am', 'c2am_resnet50_cub.py')


def _official_keys():
    """The 324 entries of ``ccam_network_keys.json``: the stride-modified
    torchvision ResNet-50 (no fc) + the head, in state_dict order."""
    keys = []

    def bn(prefix, ch):
        keys.extend(
            [
                (f'{prefix}.weight', [ch]),
                (f'{prefix}.bias', [ch]),
                (f'{prefix}.running_mean', [ch]),
                (f'{prefix}.running_var', [ch]),
                (f'{prefix}.num_batches_tracked', []),
            ]
        )

    keys.append(('backbone.conv1.weight', [64, 3, 7, 7]))
    bn('backbone.bn1', 64)
    inplanes = 64
    for layer, (blocks, planes) in enumerate(
        zip((3, 4, 6, 3), (64, 128, 256, 512)), 1
    ):
        for b in range(blocks):
            p = f'backbone.layer{layer}.{b}'
            keys.append((f'{p}.conv1.weight', [planes, inplanes, 1, 1]))
            bn(f'{p}.bn1', planes)
            keys.append((f'{p}.conv2.weight', [planes, planes, 3, 3]))
            bn(f'{p}.bn2', planes)
            keys.append((f'{p}.conv3.weight', [planes * 4, planes, 1, 1]))
            bn(f'{p}.bn3', planes * 4)
            if b == 0:
                keys.append(
                    (f'{p}.downsample.0.weight', [planes * 4, inplanes, 1, 1])
                )
                bn(f'{p}.downsample.1', planes * 4)
            inplanes = planes * 4
    keys.append(('ac_head.activation_head.weight', [1, 3072, 3, 3]))
    bn('ac_head.bn_head', 1)
    return keys


def _official_state_dict(prefix=''):
    state = {}
    for i, (key, shape) in enumerate(_official_keys()):
        if key.endswith('num_batches_tracked'):
            state[prefix + key] = torch.tensor(i, dtype=torch.int64)
        else:
            numel = 1
            for s in shape:
                numel *= s
            # Deterministic and distinct per tensor.
            state[prefix + key] = (
                torch.arange(numel, dtype=torch.float32) * 1e-6 + i
            ).reshape(shape)
    return state


def test_key_list_matches_the_spec_file():
    path = osp.join(
        ROOT,
        '..',
        'shared',
        'specs',
        'official_keys',
        'ccam_network_keys.json',
    )
    if not osp.isfile(path):
        pytest.skip('the official key list is not available here')
    with open(path) as f:
        expected = [(k, s) for k, s, _ in json.load(f)]
    assert _official_keys() == expected


def _build_cub_model():
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.pop('init_cfg')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_convert_loads_strictly_into_cub_model(prefix):
    official = _official_state_dict(prefix)
    assert len(official) == 324
    checkpoint = dict(
        state_dict=official,
        epoch=19,
        CorLoc=90.0,
        Threshold=0.35,
        Flag=torch.tensor(False),
    )
    converted = convert_c2am(checkpoint)
    model = _build_cub_model()
    model.load_state_dict(converted, strict=True)
    assert not bool(model.head.flip)
    assert bool(model.head.polarity_checked)
    # Every official tensor landed in exactly one mmwsl tensor.
    state = model.state_dict()
    for key, value in official.items():
        key = key[len(prefix) :]
        new_key = key.replace('ac_head.', 'head.')
        assert torch.equal(state[new_key], value), key
    assert len(state) == len(official) + 2  # + flip, polarity_checked


def test_flags_of_the_three_checkpoint_kinds():
    official = _official_state_dict()
    wsss = convert_c2am(dict(state_dict=official, flag=torch.tensor(True)))
    assert bool(wsss['head.flip']) and bool(wsss['head.polarity_checked'])
    with pytest.warns(UserWarning, match='no polarity flag'):
        custom = convert_c2am(official)
    assert bool(custom['head.flip'])
    assert not bool(custom['head.polarity_checked'])
    forced = convert_c2am(official, flip=False)
    assert not bool(forced['head.flip'])
    state, flag = split_c2am_checkpoint(dict(state_dict=official, Flag=True))
    assert flag is True and state is official


def test_head_only_state_dict():
    head = {
        'activation_head.weight': torch.zeros(1, 256, 3, 3),
        'bn_head.weight': torch.ones(1),
        'bn_head.bias': torch.zeros(1),
        'bn_head.running_mean': torch.zeros(1),
        'bn_head.running_var': torch.ones(1),
        'bn_head.num_batches_tracked': torch.tensor(0),
    }
    converted = convert_c2am(head, flip=True)
    assert sorted(converted) == sorted(
        ['head.' + k for k in head] + ['head.flip', 'head.polarity_checked']
    )
    model = MODELS.build(dict(type='mmwsl.C2AMHead', in_channels=256))
    model_state = {k[len('head.') :]: v for k, v in converted.items()}
    model.load_state_dict(model_state, strict=True)


def test_unknown_keys_are_listed():
    official = _official_state_dict()
    official['fc.weight'] = torch.zeros(1000, 2048)
    with pytest.raises(ValueError, match='fc.weight'):
        convert_c2am(official, flip=False)
    with pytest.raises(ValueError, match='no C²AM head'):
        convert_c2am({'backbone.conv1.weight': torch.zeros(1)}, flip=False)


def test_converter_tool(tmp_path):
    src = tmp_path / 'ccam.pth'
    torch.save(
        dict(state_dict=_official_state_dict(), Flag=torch.tensor(True)), src
    )
    dst = tmp_path / 'converted.pth'
    tool = osp.join(ROOT, 'tools', 'model_converters', 'c2am2mmwsl.py')
    spec = importlib.util.spec_from_file_location('c2am2mmwsl', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(src), str(dst), '--config', CONFIG])
    saved = torch.load(dst, weights_only=True)
    assert bool(saved['state_dict']['head.flip'])
    assert saved['meta']['polarity_flip'] is True
    assert len(saved['state_dict']) == 326
