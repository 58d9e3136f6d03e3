# Copyright (c) mmwsl contributors. All rights reserved.
"""ADL layer (spec T11, T14, T3's >= counts) and ADLBackbone."""
import copy

import pytest
import torch

from mmwsl.models.backbones import ADLBackbone
from mmwsl.models.layers import ADL, attention_drop_mask

# T11: two channels, channel mean A = [[2, 2], [2, 6]].
C0 = torch.tensor([[1., 2.], [3., 4.]])
C1 = torch.tensor([[3., 2.], [1., 8.]])
X = torch.stack([C0, C1])[None]
SIG2, SIG6 = 0.8807970779778823, 0.9975273768433653


@pytest.mark.parametrize('gamma', [0.8, 0.9])
def test_t11_drop_mask(gamma):
    # thr 4.8 (0.8) or 5.4 (0.9): only the 6 is dropped.
    assert attention_drop_mask(X, gamma)[0, 0].tolist() == [[1., 1.],
                                                            [1., 0.]]


@pytest.mark.parametrize('gamma', [0.8, 0.9])
@pytest.mark.parametrize('r, dropped', [(0.30, True), (0.25, True),
                                        (0.20, False)])
def test_t11_forward(gamma, r, dropped):
    adl = ADL(drop_rate=0.75, gamma=gamma).train()
    out = adl(X, random_value=r)[0]
    if dropped:  # b = floor(r + 0.75) = 1: drop mask
        assert out[0].tolist() == [[1., 2.], [3., 0.]]
        assert out[1].tolist() == [[3., 2.], [1., 0.]]
    else:  # b = 0: importance map sigmoid(A)
        expected = torch.tensor([[SIG2, 2 * SIG2], [3 * SIG2, 4 * SIG6]])
        assert torch.allclose(out[0], expected, atol=1e-6)
        assert out[0].flatten().tolist() == pytest.approx(
            [.8808, 1.7616, 2.6424, 3.9901], abs=1e-4)
        assert torch.allclose(out[1], C1 * torch.tensor(
            [[SIG2, SIG2], [SIG2, SIG6]]), atol=1e-6)


def test_t11_eval_is_identity():
    adl = ADL().eval()
    out = adl(X, random_value=0.9)
    assert out is X


def test_t14_zero_attention_drops_everything():
    x = torch.zeros(1, 3, 2, 2)
    assert not attention_drop_mask(x, 0.9).any()
    out = ADL(gamma=0.9).train()(x + 0., random_value=0.5)
    assert torch.equal(out, torch.zeros_like(x))
    # A = 0 with non-zero channels (they cancel): still all dropped.
    y = torch.stack([torch.ones(2, 2), -torch.ones(2, 2)])[None]
    assert torch.equal(ADL().train()(y, random_value=0.5),
                       torch.zeros_like(y))


def test_t14_negative_attention_drops_nothing():
    x = torch.tensor([[[[-1., -2.]]]])  # A = [[-1, -2]], thr -0.9
    assert attention_drop_mask(x, 0.9)[0, 0].tolist() == [[1., 1.]]
    assert torch.equal(ADL(gamma=0.9).train()(x, random_value=0.9), x)


@pytest.mark.parametrize('gamma, count', [(0.5, 6), (0.6, 5), (0.7, 4)])
def test_t3_max_ratio_ge_counts(gamma, count):
    """Dropped = A >= gamma * max (the complement of the strict <)."""
    h = torch.tensor([[0., 1., 2., 3., 0.], [1., 5., 8., 4., 1.],
                      [2., 9., 10., 6., 2.], [0., 3., 7., 2., 0.]])
    dropped = 1 - attention_drop_mask(h[None, None], gamma)
    assert int(dropped.sum()) == count


def test_drop_probability_and_batch_sharing():
    torch.manual_seed(0)
    adl = ADL(drop_rate=0.75).train()
    x = torch.rand(4, 3, 5, 5) + 0.1
    drops, per_batch = 0, True
    for _ in range(400):
        out = adl(x)
        is_drop = [bool((out[i] == 0).any()) for i in range(4)]
        per_batch &= len(set(is_drop)) == 1
        drops += is_drop[0]
    assert per_batch
    assert 0.68 < drops / 400 < 0.82


def test_per_sample_draws():
    adl = ADL(drop_rate=0.75, per_sample=True).train()
    out = adl(X.expand(2, -1, -1, -1), random_value=torch.tensor([.3, .2]))
    assert out[0, 0, 1, 1] == 0.
    assert out[1, 0, 1, 1] == pytest.approx(4 * SIG6)
    with pytest.raises(ValueError, match='random_value'):
        adl(X.expand(2, -1, -1, -1), random_value=torch.tensor([.1, .2, .3]))


def test_gradient_through_importance_map_only():
    x = X.clone().requires_grad_(True)
    ADL().train()(x, random_value=0.9).sum().backward()
    # Drop branch: the gradient is the constant mask.
    assert x.grad[0, :, 1, 1].tolist() == [0., 0.]
    assert x.grad[0, :, 0, 0].tolist() == [1., 1.]
    x.grad = None
    ADL().train()(x, random_value=0.0).sum().backward()
    # Importance branch: d(x * sigmoid(mean x)) / dx != sigmoid alone.
    assert x.grad[0, 0, 0, 0] != pytest.approx(SIG2)


def _resnet(**kwargs):
    return dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                base_channels=8, strides=(1, 2, 2, 1), out_indices=(3, ),
                **kwargs)


def test_backbone_inserts_after_blocks():
    torch.manual_seed(0)
    model = ADLBackbone(backbone=_resnet(),
                        insert_after=[('layer3', 0), ('layer4', 0),
                                      'layer4.1'])
    assert list(model.adl_layers) == ['layer3_0', 'layer4_0', 'layer4_1']
    seen = []
    for name in ('layer3', 'layer4'):
        layer = getattr(model.backbone, name)
        layer[1].register_forward_pre_hook(
            lambda m, args, n=name: seen.append((n, args[0].clone())))
    x = torch.rand(2, 3, 32, 32)
    model.train()
    torch.manual_seed(1)
    out = model(x)[0]
    # The input of block 1 is ADL(block 0's output): exactly zero where
    # dropped or a sigmoid-scaled copy; recompute with the same draws.
    plain = copy.deepcopy(model.backbone)
    plain._forward_hooks.clear()
    for m in plain.modules():
        m._forward_hooks.clear()
    torch.manual_seed(1)
    adl = ADL(0.75, 0.9).train()
    y = plain.maxpool(plain.relu(plain.bn1(plain.conv1(x))))
    y = plain.layer2(plain.layer1(y))
    y = adl(plain.layer3[0](y))
    assert torch.allclose(seen[0][1], y, atol=1e-6)
    y = adl(plain.layer4[0](plain.layer3[1](y)))
    assert torch.allclose(seen[1][1], y, atol=1e-6)
    y = adl(plain.layer4[1](y))
    assert torch.allclose(out, y, atol=1e-6)
    # Eval mode: identical to the plain backbone (same BN statistics).
    plain.load_state_dict(model.backbone.state_dict())
    model.eval()
    plain.eval()
    assert torch.equal(model(x)[0], plain(x)[0])
    # Parameter names are the backbone's (pretrained weights load).
    assert set(model.state_dict()) == {
        f'backbone.{k}' for k in plain.state_dict()}


def test_backbone_deepcopy_rebinds_hooks():
    model = ADLBackbone(backbone=_resnet(), insert_after=[('layer4', 1)])
    twin = copy.deepcopy(model)
    hook = next(iter(twin.backbone.layer4[1]._forward_hooks.values()))
    assert hook.__self__ is twin.adl_layers['layer4_1']
    twin.eval()
    model.train()
    assert not twin.adl_layers['layer4_1'].training


def test_backbone_vgg_positions():
    model = ADLBackbone(
        backbone=dict(type='mmpretrain.VGG', depth=16,
                      with_last_pool=False),
        insert_after=['features.9', 'features.12', 'features.16'])
    assert len(model.adl_layers) == 3
    calls = []
    for adl in model.adl_layers.values():
        adl.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    model.train()
    model(torch.rand(1, 3, 64, 64))
    assert calls == [(1, 256, 8, 8), (1, 512, 8, 8), (1, 512, 4, 4)]


def test_backbone_bad_positions():
    with pytest.raises(ValueError, match="'layer9.0' is not a submodule"):
        ADLBackbone(backbone=_resnet(), insert_after=[('layer9', 0)])
    with pytest.raises(ValueError, match='repeats'):
        ADLBackbone(backbone=_resnet(),
                    insert_after=[('layer4', 0), 'layer4.0'])
    with pytest.raises(ValueError, match='empty'):
        ADLBackbone(backbone=_resnet(), insert_after=[])
    with pytest.raises(ValueError, match='drop_rate'):
        ADL(drop_rate=1.5)
