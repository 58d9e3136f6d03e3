# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM head, pooling and model (spec sections 1 and 9, case C)."""

import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsl.models.heads import C2AMHead, pool_foreground_background
from mmwsl.models.losses import c2am_contrastive_loss
from mmwsl.registry import MODELS

ATOL = 2e-6

# Spec case C: Z of shape (2, 2, 2, 2).
Z = [
    [[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [3.0, 1.0]]],
    [[[2.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 2.0]]],
]


def _case_c_head(dtype=torch.float64):
    head = C2AMHead(in_channels=2, in_index=(0,))
    head.to(dtype).train()
    # A 3x3 kernel that gives the head-conv output of the spec.
    weight = torch.zeros(1, 2, 3, 3, dtype=dtype)
    weight[0, 0, 0, 1] = 1
    weight[0, 0, 1, 2] = -1
    weight[0, 0, 2, 1] = -2
    weight[0, 1, 2, 1] = 1
    with torch.no_grad():
        head.activation_head.weight.copy_(weight)
    return head


def test_case_c_sigmoid_map_and_loss():
    head = _case_c_head()
    z = torch.tensor(Z, dtype=torch.float64)
    logits = head.activation_head(z)
    torch.testing.assert_close(
        logits[:, 0],
        torch.tensor(
            [[[1.0, -1.0], [0.0, 2.0]], [[-2.0, 0.0], [1.0, 0.0]]],
            dtype=torch.float64,
        ),
    )
    fg, bg, ccam = head((z,))
    assert head.bn_head.running_mean.item() == pytest.approx(0.1 * 0.125)
    # Unbiased variance in the running statistics: 1.359375 * 8 / 7.
    assert head.bn_head.running_var.item() == pytest.approx(
        0.9 + 0.1 * 1.359375 * 8 / 7
    )
    torch.testing.assert_close(
        ccam[:, 0],
        torch.tensor(
            [
                [[0.679282, 0.275899], [0.473223, 0.833156]],
                [[0.139124, 0.473223], [0.679282, 0.473223]],
            ],
            dtype=torch.float64,
        ),
        atol=ATOL,
        rtol=0,
    )
    torch.testing.assert_close(
        fg,
        torch.tensor(
            [[0.516059, 0.632181], [0.357688, 0.389698]], dtype=torch.float64
        ),
        atol=ATOL,
        rtol=0,
    )
    torch.testing.assert_close(
        bg,
        torch.tensor(
            [[0.483941, 0.617819], [0.642312, 0.610302]], dtype=torch.float64
        ),
        atol=ATOL,
        rtol=0,
    )
    losses = c2am_contrastive_loss(fg, bg, 0.25)
    assert losses['loss_bg_bg'].item() == pytest.approx(0.005703664, abs=1e-8)
    assert losses['loss_bg_fg'].item() == pytest.approx(6.071362119, abs=1e-8)
    assert losses['loss_fg_fg'].item() == pytest.approx(0.001162118, abs=1e-8)
    head.train()
    total = sum(head.loss((z,)).values())
    assert total.item() == pytest.approx(6.078227901, abs=1e-8)


def test_case_c_logit_mode():
    head = _case_c_head()
    z = torch.tensor(Z, dtype=torch.float64)
    fg, bg, logits = head((z,), logits=True)
    torch.testing.assert_close(
        logits[:, 0],
        torch.tensor(
            [
                [[0.750476, -0.964898], [-0.107211, 1.608163]],
                [[-1.822585, -0.107211], [0.750476, -0.107211]],
            ],
            dtype=torch.float64,
        ),
        atol=ATOL,
        rtol=0,
    )
    torch.testing.assert_close(
        fg,
        torch.tensor(
            [[0.107211, 0.080408], [-0.750476, -0.536054]], dtype=torch.float64
        ),
        atol=ATOL,
        rtol=0,
    )
    torch.testing.assert_close(
        bg,
        torch.tensor(
            [[0.892789, 1.169592], [1.750476, 1.536054]], dtype=torch.float64
        ),
        atol=ATOL,
        rtol=0,
    )
    # fg + bg is the spatial mean of Z in both modes.
    torch.testing.assert_close(fg + bg, z.mean((2, 3)))


def test_pooling_is_sum_over_hw():
    feats = torch.rand(3, 5, 4, 6, dtype=torch.float64)
    weights = torch.rand(3, 1, 4, 6, dtype=torch.float64)
    fg, bg = pool_foreground_background(feats, weights)
    torch.testing.assert_close(fg, (feats * weights).sum((2, 3)) / 24)
    torch.testing.assert_close(bg, (feats * (1 - weights)).sum((2, 3)) / 24)
    with pytest.raises(ValueError, match='weights'):
        pool_foreground_background(feats, weights[:, :, :2])


def test_head_gradient_matches_finite_differences():
    """d(total loss)/d(conv weight) and d/dZ through BN, sigmoid and
    pooling, against central differences in float64."""
    torch.manual_seed(0)
    head = C2AMHead(in_channels=3, in_index=(0,)).double().train()
    feats = torch.rand(4, 3, 3, 3, dtype=torch.float64) + 0.1

    def total(weight, x):
        with torch.no_grad():
            head.activation_head.weight.copy_(weight)
        fg, bg, _ = head((x,))
        return sum(c2am_contrastive_loss(fg, bg, 0.25).values())

    weight = head.activation_head.weight.detach().clone()
    w_ = weight.clone().requires_grad_(True)
    x_ = feats.clone().requires_grad_(True)
    head.activation_head.weight = torch.nn.Parameter(w_)
    fg, bg, _ = head((x_,))
    sum(c2am_contrastive_loss(fg, bg, 0.25).values()).backward()
    grad_w = head.activation_head.weight.grad.clone()
    grad_x = x_.grad.clone()

    eps = 1e-6
    for tensor, grad, is_weight in (
        (weight, grad_w, True),
        (feats, grad_x, False),
    ):
        flat = tensor.view(-1)
        for k in range(0, flat.numel(), 3):
            old = flat[k].item()
            flat[k] = old + eps
            plus = total(weight, feats).item()
            flat[k] = old - eps
            minus = total(weight, feats).item()
            flat[k] = old
            numeric = (plus - minus) / (2 * eps)
            assert grad.view(-1)[k].item() == pytest.approx(
                numeric, abs=1e-6, rel=1e-4
            ), (is_weight, k)


def _tiny_model(**head_kwargs):
    cfg = dict(
        type='C2AM',
        backbone=dict(
            type='mmpretrain.ResNet',
            depth=18,
            stem_channels=8,
            base_channels=8,
            strides=(1, 2, 2, 1),
            out_indices=(2, 3),
        ),
        head=dict(type='C2AMHead', in_channels=64 + 32, **head_kwargs),
    )
    return MODELS.build(cfg)


def test_model_modes():
    torch.manual_seed(0)
    model = _tiny_model(loss=dict(type='C2AMContrastiveLoss', alpha=0.05))
    x = torch.rand(4, 3, 64, 48)
    out = model(x, mode='tensor')
    assert set(out) == {'fg_feats', 'bg_feats', 'ccam'}
    assert out['fg_feats'].shape == (4, 96)
    assert out['bg_feats'].shape == (4, 96)
    # Output stride 16: layer4 has stride 1.
    assert out['ccam'].shape == (4, 1, 4, 3)
    assert ((out['ccam'] > 0) & (out['ccam'] < 1)).all()

    model.train()
    losses = model(x, [DataSample() for _ in range(4)], mode='loss')
    assert set(losses) == {'loss_fg_fg', 'loss_bg_bg', 'loss_bg_fg'}
    sum(losses.values()).backward()
    assert model.head.activation_head.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.head.last_train_map.shape == (4, 1, 4, 3)

    model.eval()
    with torch.no_grad():
        ccam = model(x, mode='tensor')['ccam']
        samples = model(x, [DataSample() for _ in range(4)], mode='predict')
    assert len(samples) == 4
    for sample, p in zip(samples, ccam[:, 0]):
        assert sample.cam.shape == (64, 48)
        assert sample.cam.min() >= 0 and sample.cam.max() <= 1
        # Not yet checked: the reference default flips (1 - P).
        torch.testing.assert_close(sample.c2am_map, 1 - p)


def test_predict_applies_polarity_and_state_dict():
    torch.manual_seed(1)
    model = _tiny_model(init_flip=True)
    model.head.set_polarity(False)
    assert bool(model.head.polarity_checked)
    state = model.state_dict()
    assert state['head.flip'].dtype == torch.bool
    assert not bool(state['head.flip'])
    other = _tiny_model()
    assert bool(other.head.flip)
    other.load_state_dict(state, strict=True)
    assert not bool(other.head.flip)
    other.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        p = other(x, mode='tensor')['ccam'][:, 0]
        samples = other.predict(x)
    torch.testing.assert_close(samples[0].c2am_map, p[0])


def test_head_errors():
    head = C2AMHead(in_channels=10)
    with pytest.raises(ValueError, match='channels'):
        head((torch.rand(1, 4, 2, 2), torch.rand(1, 4, 2, 2)))
    with pytest.raises(ValueError, match='different sizes'):
        head((torch.rand(1, 4, 4, 4), torch.rand(1, 6, 2, 2)))
    with pytest.raises(ValueError, match='out_indices'):
        C2AMHead(in_channels=4, in_index=(0, 2))((torch.rand(1, 4, 2, 2),))


def test_pretrained_backbone_keys_are_checked(tmp_path):
    backbone = dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(2, 3),
    )
    source = MODELS.build(backbone)
    state = {
        k: v
        for k, v in source.state_dict().items()
        if not k.endswith('num_batches_tracked')
    }
    state['fc.weight'] = torch.zeros(10, 64)
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict=state), good)
    cfg = dict(
        type='C2AM',
        head=dict(type='C2AMHead', in_channels=96),
        backbone=dict(
            backbone, init_cfg=dict(type='Pretrained', checkpoint=str(good))
        ),
    )
    model = MODELS.build(cfg)
    model.init_weights()
    torch.testing.assert_close(
        model.backbone.conv1.weight, source.conv1.weight
    )

    # Keys under a wrapper prefix: nothing would load.
    bad = tmp_path / 'bad.pth'
    torch.save({f'module.encoder_q.{k}': v for k, v in state.items()}, bad)
    cfg['backbone']['init_cfg']['checkpoint'] = str(bad)
    with pytest.raises(ValueError, match='bad.pth.*missing'):
        MODELS.build(cfg).init_weights()
    # The right prefix loads it.
    cfg['backbone']['init_cfg']['prefix'] = 'module.encoder_q'
    MODELS.build(cfg).init_weights()
    # Opting out.
    cfg['backbone']['init_cfg'].pop('prefix')
    MODELS.build(dict(cfg, check_pretrained=False)).init_weights()
