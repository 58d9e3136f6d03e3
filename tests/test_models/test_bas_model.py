# Copyright (c) mmwsl contributors. All rights reserved.
"""mmwsl.BAS with the four WSOL backbones: structure, gradient flow,
background-branch semantics and inference maps (BAS spec sections 1, 2.7,
4.1 and 7)."""

import copy
import functools

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from bas_builders import ARCHS, bas_cfg, build_bas
from mmpretrain.structures import DataSample

from mmwsl.models.classifiers import BAS
from mmwsl.models.losses import background_activation_loss
from mmwsl.registry import MODELS

# Parameters in millions at K = 200 with the 1024-wide head (spec 1.1-1.4):
# total, head h, generator g (None: not given by the spec).
PARAMS = {
    'vgg16': (30.00, 14.36, 0.922),
    'resnet50': (53.87, 28.52, 1.843),
    'mobilenetv1': (23.21, 19.08, None),
    'inceptionv3': (51.69, None, None),
}
TAP_CHANNELS = dict(vgg16=512, resnet50=1024, mobilenetv1=512, inceptionv3=768)


def _samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def _millions(module):
    return sum(p.numel() for p in module.parameters()) / 1e6


@pytest.mark.parametrize('arch', list(ARCHS))
def test_structure_at_224(arch):
    """Parameter counts and the shape table of spec section 7.2 (shapes
    propagated on the meta device, so nothing is computed)."""
    model = build_bas(arch).to('meta').eval()
    total, head, generator = PARAMS[arch]
    assert _millions(model) == pytest.approx(total, abs=0.005)
    if head is not None:
        assert _millions(model.head.classifier) == pytest.approx(
            head, abs=0.005
        )
    if generator is not None:
        assert _millions(model.head.generator) == pytest.approx(
            generator, abs=0.0005
        )

    inputs = torch.empty(2, 3, 224, 224, device='meta')
    tap, late = model.extract_feat(inputs)
    assert tap.shape == (2, TAP_CHANNELS[arch], 28, 28)
    out = model(inputs, mode='tensor')
    assert out['cls_score'].shape == (2, 200)
    assert out['fg_map'].shape == (2, 200, 28, 28)
    assert out['cams'].shape == (2, 200, 14, 14)


def test_split_points():
    model = build_bas('resnet50', num_classes=3, mid_channels=(8,))
    assert model.lower_steps == [
        'conv1',
        'bn1',
        'relu',
        'maxpool',
        'layer1',
        'layer2',
        'layer3',
    ]
    assert model.late_steps == ['layer4']
    vgg = build_bas('vgg16', num_classes=3, mid_channels=(8,))
    # conv4_3 (+ReLU) is the tap; pool4 starts the late stage; no pool5.
    assert vgg.late_steps == [f'features.{i}' for i in range(13, 17)]
    assert isinstance(vgg.backbone.features[13], nn.MaxPool2d)
    mobilenet = build_bas('mobilenetv1', num_classes=3, mid_channels=(8,))
    assert mobilenet.late_steps == ['layers.12', 'layers.13']
    inception = build_bas('inceptionv3', num_classes=3, mid_channels=(8,))
    assert inception.late_steps == ['Mixed_7a', 'Mixed_7b', 'Mixed_7c']


def test_bad_split_arguments():
    cfg = bas_cfg('resnet50', num_classes=3)
    with pytest.raises(ValueError, match='not a forward step'):
        MODELS.build(dict(cfg, tap='layer5'))
    with pytest.raises(ValueError, match='last step'):
        MODELS.build(dict(cfg, tap='layer4'))
    with pytest.raises(ValueError, match='late_pool'):
        MODELS.build(dict(cfg, late_pool=0))
    with pytest.raises(TypeError, match='cannot be split'):
        MODELS.build(
            dict(
                cfg, backbone=dict(type='mmpretrain.MobileNetV2'), tap='layer1'
            )
        )


def _groups(model):
    """Parameters of g, f1, f2 and h."""

    def params(names):
        return [
            p
            for n in names
            for p in model.backbone.get_submodule(n).parameters()
        ]

    return dict(
        g=list(model.head.generator.parameters()),
        f1=params(model.lower_steps),
        f2=params(model.late_steps),
        h=list(model.head.classifier.parameters()),
    )


# Spec section 2.7 (WSOL rows): which parts each loss trains.
GRADIENT_TABLE = {
    'loss_cls': dict(g=False, f1=True, f2=True, h=True),
    'loss_fg': dict(g=True, f1=True, f2=True, h=True),
    'loss_bg': dict(g=True, f1=True, f2=False, h=False),
    'loss_area': dict(g=True, f1=True, f2=False, h=False),
}


@pytest.mark.parametrize('arch', list(ARCHS))
def test_gradient_flow_table(arch):
    model = build_bas(
        arch,
        num_classes=3,
        mid_channels=(16, 16),
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=0.0),
    )
    model.train()
    # Positive logits, and an input with some sample whose 0 < S_bg < S:
    # masked samples and non-positive logits give L_bas no gradient.
    with torch.no_grad():
        model.head.classifier[-1].bias.fill_(5)
    for seed in range(10):
        torch.manual_seed(seed)
        losses = model(
            torch.randn(4, 3, 32, 32), _samples([0, 2, 1, 2]), mode='loss'
        )
        if losses['loss_bg'].item() > 0:
            break
    assert losses['loss_bg'].item() > 0
    assert set(losses) == set(GRADIENT_TABLE)
    groups = _groups(model)
    names = list(groups)
    flat = [p for n in names for p in groups[n]]
    for loss_name, expected in GRADIENT_TABLE.items():
        grads = torch.autograd.grad(
            losses[loss_name], flat, retain_graph=True, allow_unused=True
        )
        start = 0
        for name in names:
            part = grads[start : start + len(groups[name])]
            start += len(groups[name])
            reached = any(g is not None and g.abs().sum() > 0 for g in part)
            assert reached == expected[name], (arch, loss_name, name)
            if expected[name]:
                # Every parameter of a trained part is in the graph.
                assert all(g is not None for g in part), (arch, loss_name)


def _late_modules(model):
    return [model.backbone.get_submodule(n) for n in model.late_steps]


def _running_stats(modules):
    return [
        b.clone()
        for m in modules
        for n, b in m.named_buffers()
        if 'running' in n or 'num_batches' in n
    ]


@pytest.mark.parametrize('arch', ['resnet50', 'mobilenetv1', 'inceptionv3'])
def test_background_branch_matches_deep_copy(arch):
    """The erased pass equals the reference's per-step deep copy of f2 and h
    run in train mode (batch statistics of the erased features), and the
    model's running statistics are updated only by the main pass."""
    torch.manual_seed(0)
    model = build_bas(arch, num_classes=3, mid_channels=(16, 16)).train()
    reference = copy.deepcopy(model)
    inputs = torch.randn(4, 3, 32, 32)
    labels = torch.tensor([0, 2, 1, 2])

    losses = model(inputs, _samples(labels), mode='loss')
    (gen_grad,) = torch.autograd.grad(
        losses['loss_bg'], model.head.generator.weight
    )

    # Reference: deep copies of f2 and h, in train mode, every step.
    index = torch.arange(4)
    tap, late = reference.extract_feat(inputs)
    score = reference.head.classifier(late).mean((2, 3))[index, labels]
    fg_map = reference.head.fg_maps(tap)[index, labels]
    late_copy = copy.deepcopy(nn.Sequential(*_late_modules(reference)))
    head_copy = copy.deepcopy(reference.head.classifier)
    erased = tap.detach() * (1 - fg_map[:, None])
    if reference.late_pool:
        erased = F.max_pool2d(erased, reference.late_pool)
    bg_score = head_copy(late_copy(erased)).mean((2, 3))[index, labels]
    ref_loss = background_activation_loss(score, bg_score, masked_value=1.0)
    (ref_grad,) = torch.autograd.grad(
        ref_loss, reference.head.generator.weight
    )

    torch.testing.assert_close(losses['loss_bg'], ref_loss)
    torch.testing.assert_close(gen_grad, ref_grad, rtol=1e-4, atol=1e-7)
    # Running statistics: one update (the main pass) in both models.
    for a, b in zip(
        _running_stats(_late_modules(model)),
        _running_stats(_late_modules(reference)),
    ):
        torch.testing.assert_close(a, b)
    # The copies did update their own statistics (batch statistics used).
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            _running_stats(late_copy), _running_stats(_late_modules(reference))
        )
    )


def test_background_branch_keeps_eval_mode_statistics():
    """In eval mode (e.g. norm_eval) the erased pass uses the running
    statistics and changes nothing."""
    torch.manual_seed(0)
    model = build_bas('resnet50', num_classes=3, mid_channels=(8,))
    model.eval()
    before = _running_stats(_late_modules(model))
    tap = torch.randn(2, 1024, 8, 8)
    frozen = model.forward_late_frozen(tap)
    torch.testing.assert_close(frozen, model.forward_late(tap))
    for a, b in zip(before, _running_stats(_late_modules(model))):
        assert torch.equal(a, b)


def _official_map(fg_map: np.ndarray, size) -> np.ndarray:
    """BAS-Extension: (m - min) / (max - min + 1e-5), cv2 bilinear resize."""
    norm = (fg_map - fg_map.min()) / (fg_map.max() - fg_map.min() + 1e-5)
    return cv2.resize(
        norm.astype(np.float32), size, interpolation=cv2.INTER_LINEAR
    )


@pytest.mark.parametrize('arch', ['vgg16', 'resnet50'])
def test_predict_localization_map(arch):
    torch.manual_seed(0)
    model = build_bas(arch, num_classes=4, mid_channels=(16, 16)).eval()
    assert isinstance(model, BAS)
    inputs = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        out = model(inputs, mode='tensor')
        samples = model(inputs, _samples([3, 1]), mode='predict')
    for i, (sample, label) in enumerate(zip(samples, [3, 1])):
        assert sample.cam.shape == (48, 48)
        assert sample.cam_label == label
        expected = _official_map(out['fg_map'][i, label].numpy(), (48, 48))
        np.testing.assert_allclose(sample.cam.numpy(), expected, atol=2e-5)
        torch.testing.assert_close(
            sample.pred_score, out['cls_score'][i].softmax(0)
        )
    # CUB protocol: mean of the maps of the top-k classes (k = K here).
    model.head.cam_topk = 200
    with torch.no_grad():
        samples = model(inputs, _samples([3, 1]), mode='predict')
    for i, sample in enumerate(samples):
        expected = _official_map(out['fg_map'][i].mean(0).numpy(), (48, 48))
        np.testing.assert_allclose(sample.cam.numpy(), expected, atol=2e-5)


def test_constant_map_gives_zeros():
    """A constant map normalises to zeros (BAS-Extension, +1e-5)."""
    model = build_bas('resnet50', num_classes=2, mid_channels=(8,)).eval()
    with torch.no_grad():
        model.head.generator.weight.zero_()
    with torch.no_grad():
        samples = model(
            torch.randn(1, 3, 32, 32), _samples([1]), mode='predict'
        )
    assert samples[0].cam.abs().max() == 0


def test_train_step_updates_and_keeps_running_stats_consistent():
    """One optimiser step through mmengine's train_step."""
    from mmengine.optim import build_optim_wrapper

    torch.manual_seed(0)
    model = build_bas('mobilenetv1', num_classes=3, mid_channels=(16, 16))
    model.train()
    wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True)),
    )
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=_samples([0, 1]),
    )
    before = model.head.generator.weight.clone()
    log = model.train_step(data, wrapper)
    assert {'loss', 'loss_cls', 'loss_fg', 'loss_bg', 'loss_area'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    assert not torch.equal(before, model.head.generator.weight)


def _block_map():
    fg = torch.zeros(28, 28)
    fg[7:14, 14:21] = 1
    return fg


def _two_blobs():
    fg = torch.zeros(28, 28)
    fg[2:6, 2:6] = 1
    fg[15:27, 10:25] = 0.8
    return fg


# Spec section 7.2, "Box extraction": a 28x28 map through the BAS inference
# map (min-max normalisation, bilinear resize to 224) and the BAS box rule.
BOX_CASES = [
    (_block_map, 0.1, [109, 53, 171, 115]),
    (_block_map, 0.5, [112, 56, 168, 112]),
    (_block_map, 0.9, [115, 59, 165, 109]),
    (_two_blobs, 0.1, [77, 117, 203, 219]),
    (_two_blobs, 0.5, [81, 121, 199, 215]),
    (_two_blobs, 0.85, [19, 19, 45, 45]),
    (lambda: torch.full((28, 28), 0.3), 0.1, [0, 0, 224, 224]),
    (lambda: torch.full((28, 28), 0.3), 0.5, [0, 0, 224, 224]),
]


@functools.lru_cache
def _bas_test_cfg():
    """The default inference-map settings of mmwsl.BAS."""
    model = build_bas('mobilenetv1', num_classes=2, mid_channels=(8,))
    return dict(model.test_cfg)


@pytest.mark.parametrize('make_map, threshold, box', BOX_CASES)
def test_inference_map_boxes(make_map, threshold, box):
    from mmwsl.evaluation.functional import cam_to_box_bas
    from mmwsl.models.layers import localization_map

    cam = localization_map(make_map()[None], (224, 224), **_bas_test_cfg())[0]
    assert cam_to_box_bas(cam, [threshold]).tolist() == [box]


def test_wsss_network_shapes():
    """The extension's WSSS network (spec 1.5, 7.2): ResNet-50 with layer3
    at stride 2 and layer4 at stride 1, no pooling before layer4, h a bias-
    free 1x1 conv to 20 classes, g a bias-free 3x3 conv."""
    model = MODELS.build(
        dict(
            type='mmwsl.BAS',
            backbone=dict(
                type='mmpretrain.ResNet', depth=50, strides=(1, 2, 2, 1)
            ),
            tap='layer3',
            head=dict(
                type='mmwsl.BASHead',
                num_classes=20,
                in_channels=2048,
                tap_channels=1024,
                mid_channels=(),
                bias=False,
            ),
        )
    )
    assert [type(m).__name__ for m in model.head.classifier] == ['Conv2d']
    assert model.head.classifier[0].bias is None
    assert model.head.generator.bias is None
    model.to('meta').eval()
    tap, _ = model.extract_feat(torch.empty(2, 3, 448, 448, device='meta'))
    out = model(torch.empty(2, 3, 448, 448, device='meta'), mode='tensor')
    assert tap.shape == (2, 1024, 28, 28)
    assert out['cams'].shape == (2, 20, 28, 28)
    assert out['fg_map'].shape == (2, 20, 28, 28)
    out = model(torch.empty(1, 3, 321, 500, device='meta'), mode='tensor')
    assert out['fg_map'].shape[1:] == (20, 21, 32)
