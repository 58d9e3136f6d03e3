# Copyright (c) mmwsl contributors. All rights reserved.
"""BAS loss terms against the numeric cases of the BAS spec (section 7.2)."""

import math

import pytest
import torch

from mmwsl.models.losses import (
    AreaLoss,
    BackgroundActivationLoss,
    PositiveNegativeSoftmaxLoss,
    area_loss,
    background_activation_loss,
    positive_negative_softmax_loss,
)
from mmwsl.registry import MODELS

# Extension form: ReLU, strict '>', constant c for masked samples.
A1 = ([2.0, 4.0, -1.0, 0.0], [1.0, 5.0, 0.5, 0.0])
A2 = ([2.0, 4.0, 3.0], [1.0, 5.0, 3.0])


def _bas(score, bg_score, **kwargs):
    return background_activation_loss(
        torch.tensor(score), torch.tensor(bg_score), **kwargs
    )


@pytest.mark.parametrize(
    'case, masked_value, expected',
    [
        (A1, 0.0, 0.125),
        (A1, 1.0, 0.625),
        (A2, 0.0, 0.5),
        (A2, 1.0, 0.833333),
    ],
)
def test_bas_loss_extension_form(case, masked_value, expected):
    loss = _bas(*case, masked_value=masked_value)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_bas_loss_per_sample_a1():
    # Per-sample ratios of case A1 with c = 0 and c = 1: the mean of a
    # one-sample batch is that sample's ratio.
    for c, ratios in ((0.0, [0.5, 0, 0, 0]), (1.0, [0.5, 1, 1, 0])):
        got = [_bas([s], [b], masked_value=c).item() for s, b in zip(*A1)]
        assert got == pytest.approx(ratios, abs=1e-7)


def test_bas_loss_equality_not_masked_in_extension():
    # 3 / (3 + 1e-8) is kept (strict '>'), so it is ~1 whatever c is.
    loss = _bas([3.0], [3.0], masked_value=0.0)
    assert loss.item() == pytest.approx(1.0, abs=1e-6)


def test_bas_loss_cvpr_cub_form():
    # CVPR CUB: no ReLU, '>=' masked to 0.
    loss = _bas(*A2, masked_value=0.0, inclusive=True, relu=False)
    assert loss.item() == pytest.approx(0.166667, abs=1e-6)


def test_bas_loss_cvpr_ilsvrc_form():
    # CVPR ILSVRC: no ReLU, strict '>' masked to 0 -> same as A2 with c = 0.
    loss = _bas(*A2, masked_value=0.0, inclusive=False, relu=False)
    assert loss.item() == pytest.approx(0.5, abs=1e-6)


def test_bas_loss_gradient_a3():
    score = torch.tensor([2.0, 4.0], requires_grad=True)
    bg_score = torch.tensor([1.0, 5.0], requires_grad=True)
    loss = background_activation_loss(score, bg_score, masked_value=1.0)
    loss.backward()
    assert bg_score.grad.tolist() == pytest.approx([0.25, 0.0])
    # The full-image logit is detached.
    assert score.grad is None


def test_bas_loss_masked_samples_have_no_gradient():
    for c in (0.0, 1.0):
        bg_score = torch.tensor(A1[1], requires_grad=True)
        background_activation_loss(
            torch.tensor(A1[0]), bg_score, masked_value=c
        ).backward()
        # Samples 2 and 3 are masked; sample 4 has S_bg = 0, where ReLU
        # passes no gradient.
        assert bg_score.grad[1:].tolist() == [0, 0, 0]
        assert bg_score.grad[0].item() == pytest.approx(0.125)


def test_bas_loss_shape_error():
    with pytest.raises(ValueError, match='shape'):
        background_activation_loss(torch.zeros(2, 1), torch.zeros(2, 1))


def test_bas_loss_module():
    module = MODELS.build(
        dict(type='mmwsl.BackgroundActivationLoss', masked_value=0.0)
    )
    assert isinstance(module, BackgroundActivationLoss)
    assert module.loss_name == 'loss_bg'
    loss = module(torch.tensor(A1[0]), torch.tensor(A1[1]))
    assert loss.item() == pytest.approx(0.125)


@pytest.mark.parametrize(
    'fill, expected',
    [
        ('half', 0.5),
        ('top_rows', 0.5),
        ('one_pixel', 0.0012755),
        ('ones', 1.0),
    ],
)
def test_area_loss(fill, expected):
    fg_map = torch.zeros(1, 28, 28)
    if fill == 'half':
        fg_map.fill_(0.5)
    elif fill == 'top_rows':
        fg_map[:, :14] = 1
    elif fill == 'one_pixel':
        fg_map[0, 3, 5] = 1
    else:
        fg_map.fill_(1)
    assert area_loss(fg_map).item() == pytest.approx(expected, abs=5e-8)
    # (B, 1, h, w) is accepted as well.
    assert area_loss(fg_map[:, None]).item() == pytest.approx(
        expected, abs=5e-8
    )


def test_area_loss_module_weight_and_batch_mean():
    module = MODELS.build(dict(type='mmwsl.AreaLoss', loss_weight=1.5))
    assert isinstance(module, AreaLoss)
    assert module.loss_name == 'loss_area'
    fg_map = torch.stack([torch.full((28, 28), 0.5), torch.ones(28, 28)])
    assert module(fg_map).item() == pytest.approx(1.5 * 0.75)


def test_bas_loss_half_precision_inputs():
    """Zero logits in float16 (mixed precision) give 0, not NaN: the ratio
    is computed in float32, where the 1e-8 of the denominator survives."""
    zeros = torch.zeros(2, dtype=torch.float16)
    loss = background_activation_loss(zeros, zeros)
    assert loss.dtype == torch.float32 and loss.item() == 0
    loss = _bas(*A1, masked_value=1.0)
    half = background_activation_loss(
        torch.tensor(A1[0]).half(), torch.tensor(A1[1]).half()
    )
    assert half.item() == pytest.approx(loss.item())


def _mcls_batch():
    logits = torch.zeros(2, 20)
    logits[0, 0] = 2
    labels = torch.zeros(2, 20)
    labels[0, :2] = 1
    labels[1, 5] = 1
    return logits, labels


def test_multilabel_loss_single_image():
    """s_0 = 2, other logits 0, positives {0, 1}: log(1 + 18 e^-2) +
    log 19."""
    logits, labels = _mcls_batch()
    loss = positive_negative_softmax_loss(logits[:1], labels[:1])
    assert loss.item() == pytest.approx(4.178757, abs=1e-6)
    expected = math.log(1 + 18 * math.exp(-2)) + math.log(19)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_multilabel_loss_batch_and_module():
    logits, labels = _mcls_batch()
    loss = positive_negative_softmax_loss(logits, labels)
    assert loss.item() == pytest.approx(3.587245, abs=1e-6)
    # Not the multilabel soft margin loss.
    soft_margin = torch.nn.functional.multilabel_soft_margin_loss(
        logits, labels
    )
    assert soft_margin.item() == pytest.approx(0.678992, abs=1e-6)
    module = MODELS.build(dict(type='mmwsl.PositiveNegativeSoftmaxLoss'))
    assert isinstance(module, PositiveNegativeSoftmaxLoss)
    assert module(logits, labels).item() == pytest.approx(3.587245, abs=1e-6)


def test_multilabel_loss_edge_cases():
    logits = torch.randn(2, 4, requires_grad=True)
    # All classes positive (no negatives) or none positive: no loss.
    labels = torch.tensor([[1.0, 1, 1, 1], [0, 0, 0, 0]])
    loss = positive_negative_softmax_loss(logits, labels)
    assert loss.item() == 0
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match=r'\(B, K\)'):
        positive_negative_softmax_loss(torch.zeros(2, 3), torch.zeros(2, 4))
