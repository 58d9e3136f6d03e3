# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM contrastive loss: the numeric cases of the spec (section 9) and
finite-difference gradient checks."""

import math

import pytest
import torch

from mmwsl.models.losses import (
    C2AMContrastiveLoss,
    c2am_contrastive_loss,
    c2am_negative_loss,
    c2am_positive_loss,
    clamped_cosine_similarity,
    rank_weights,
)
from mmwsl.registry import MODELS

# float32 rank weights move float64 totals by up to ~1e-8 (spec section 9).
ATOL = 2e-8

CASE_A = dict(fg=[[3.0, 4.0], [4.0, 3.0]], bg=[[1.0, 0.0], [0.0, 1.0]])
CASE_B = dict(
    fg=[[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]],
    bg=[[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 2.0]],
)


def _case(case, requires_grad=False):
    fg = torch.tensor(
        case['fg'], dtype=torch.float64, requires_grad=requires_grad
    )
    bg = torch.tensor(
        case['bg'], dtype=torch.float64, requires_grad=requires_grad
    )
    return fg, bg


def _total(fg, bg, alpha):
    return sum(c2am_contrastive_loss(fg, bg, alpha).values())


def test_case_a_terms():
    fg, bg = _case(CASE_A)
    sim = clamped_cosine_similarity(fg, fg)
    assert sim[0, 1].item() == pytest.approx(0.96, abs=1e-12)
    assert clamped_cosine_similarity(bg, bg)[0, 1].item() == 0.0005
    torch.testing.assert_close(
        clamped_cosine_similarity(bg, fg),
        torch.tensor([[0.6, 0.8], [0.8, 0.6]], dtype=torch.float64),
    )
    weights = rank_weights(sim, 0.25)
    torch.testing.assert_close(
        weights,
        torch.tensor(
            [[math.exp(0.25), 1.0], [1.0, math.exp(0.25)]], dtype=torch.float64
        ),
        atol=1e-7,
        rtol=0,
    )
    losses = c2am_contrastive_loss(fg, bg, 0.25)
    assert set(losses) == {'loss_fg_fg', 'loss_bg_bg', 'loss_bg_fg'}
    assert losses['loss_fg_fg'].item() == pytest.approx(0.020732084, abs=ATOL)
    assert losses['loss_bg_bg'].item() == pytest.approx(3.800772316, abs=ATOL)
    assert losses['loss_bg_fg'].item() == pytest.approx(1.262864322, abs=ATOL)
    assert _total(fg, bg, 0.25).item() == pytest.approx(5.084368722, abs=ATOL)


@pytest.mark.parametrize(
    'alpha,total', [(0.05, 5.084252316), (0.75, 5.084785314)]
)
def test_case_a_other_alphas(alpha, total):
    fg, bg = _case(CASE_A)
    assert _total(fg, bg, alpha).item() == pytest.approx(total, abs=ATOL)


def test_case_a_gradients():
    fg, bg = _case(CASE_A, requires_grad=True)
    _total(fg, bg, 0.25).backward()
    torch.testing.assert_close(
        fg.grad,
        torch.tensor(
            [[-0.063333, 0.0475], [0.0475, -0.063333]], dtype=torch.float64
        ),
        atol=1e-6,
        rtol=0,
    )
    # The bg-bg similarity is clamped: only the negative term contributes.
    torch.testing.assert_close(
        bg.grad,
        torch.tensor([[0.0, 1.25], [1.25, 0.0]], dtype=torch.float64),
        atol=1e-6,
        rtol=0,
    )


def test_case_b():
    fg, bg = _case(CASE_B)
    s_fg = clamped_cosine_similarity(fg, fg)
    s_bg = clamped_cosine_similarity(bg, bg)
    expected = {(0, 1): 0.707107, (0, 2): 0.577350, (1, 2): 0.816497}
    for (i, j), value in expected.items():
        assert s_fg[i, j].item() == pytest.approx(value, abs=1e-6)
    expected = {(0, 1): 0.707107, (0, 2): 0.894427, (1, 2): 0.632456}
    for (i, j), value in expected.items():
        assert s_bg[i, j].item() == pytest.approx(value, abs=1e-6)
    # Rank - 1 matrices of the spec, recovered from the weights.
    for sim, ranks in (
        (s_fg, [[-1, 0, 1], [1, -1, 0], [1, 0, -1]]),
        (s_bg, [[-1, 1, 0], [0, -1, 1], [0, 1, -1]]),
    ):
        got = -torch.log(rank_weights(sim, 0.25)) / 0.25
        torch.testing.assert_close(
            got, torch.tensor(ranks, dtype=torch.float64), atol=1e-6, rtol=0
        )
    torch.testing.assert_close(
        clamped_cosine_similarity(bg, fg),
        torch.tensor(
            [
                [0.0005, 0.0005, 0.577350],
                [0.0005, 0.5, 0.816497],
                [0.447214, 0.316228, 0.774597],
            ],
            dtype=torch.float64,
        ),
        atol=1e-6,
        rtol=0,
    )
    losses = c2am_contrastive_loss(fg, bg, 0.25)
    assert losses['loss_fg_fg'].item() == pytest.approx(0.208830790, abs=ATOL)
    assert losses['loss_bg_bg'].item() == pytest.approx(0.172795932, abs=ATOL)
    assert losses['loss_bg_fg'].item() == pytest.approx(0.634906550, abs=ATOL)
    assert _total(fg, bg, 0.25).item() == pytest.approx(1.016533271, abs=ATOL)
    # The float32 rank weights of the reference arithmetic.
    assert _total(fg, bg, 0.25).item() == pytest.approx(1.016533272, abs=2e-9)
    assert _total(fg, bg, 0.05).item() == pytest.approx(1.068338491, abs=ATOL)
    assert _total(fg, bg, 0.05).item() == pytest.approx(1.068338500, abs=2e-9)


def test_symmetric_in_fg_bg():
    torch.manual_seed(0)
    fg, bg = (
        torch.rand(5, 7, dtype=torch.float64),
        torch.rand(5, 7, dtype=torch.float64),
    )
    torch.testing.assert_close(_total(fg, bg, 0.25), _total(bg, fg, 0.25))


def test_ties_rank_lower_column_first():
    # Samples 1 and 2 are identical: seen from sample 0 they tie, and the
    # lower column gets the smaller rank (the larger weight).
    feats = torch.tensor(
        [[1.0, 0.2], [1.0, 1.0], [1.0, 1.0]], dtype=torch.float64
    )
    sim = clamped_cosine_similarity(feats, feats)
    weights = rank_weights(sim, 0.5)
    assert weights[0, 1] > weights[0, 2]
    assert weights[0, 0].item() == pytest.approx(math.exp(0.5), rel=1e-6)


def _finite_difference(fn, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for k in range(flat.numel()):
        old = flat[k].item()
        flat[k] = old + eps
        plus = fn(x).item()
        flat[k] = old - eps
        minus = fn(x).item()
        flat[k] = old
        gflat[k] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize('seed', [0, 1])
def test_gradient_matches_finite_differences(seed):
    # Positive random features (as after ReLU pooling) without ties or
    # saturated off-diagonal entries, so the ranks are locally constant.
    gen = torch.Generator().manual_seed(seed)
    fg = torch.rand(4, 6, generator=gen, dtype=torch.float64) + 0.05
    bg = torch.rand(4, 6, generator=gen, dtype=torch.float64) + 0.05
    for alpha in (0.05, 0.25, 0.75):
        fg_ = fg.clone().requires_grad_(True)
        bg_ = bg.clone().requires_grad_(True)
        _total(fg_, bg_, alpha).backward()
        num_fg = _finite_difference(
            lambda x, a=alpha: _total(x, bg, a), fg.clone()
        )
        num_bg = _finite_difference(
            lambda x, a=alpha: _total(fg, x, a), bg.clone()
        )
        torch.testing.assert_close(fg_.grad, num_fg, atol=1e-7, rtol=1e-5)
        torch.testing.assert_close(bg_.grad, num_bg, atol=1e-7, rtol=1e-5)


def test_gradcheck_terms():
    gen = torch.Generator().manual_seed(3)
    x = (
        torch.rand(3, 5, generator=gen, dtype=torch.float64) + 0.1
    ).requires_grad_(True)
    y = (
        torch.rand(3, 5, generator=gen, dtype=torch.float64) + 0.1
    ).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a: c2am_positive_loss(a, 0.25), (x,)
    )
    assert torch.autograd.gradcheck(c2am_negative_loss, (x, y))


def test_module_and_errors():
    loss = MODELS.build(
        dict(type='C2AMContrastiveLoss', alpha=0.25, loss_weight=2.0)
    )
    assert isinstance(loss, C2AMContrastiveLoss)
    fg, bg = _case(CASE_A)
    out = loss(fg, bg)
    assert sum(out.values()).item() == pytest.approx(2 * 5.084368722, abs=1e-7)
    with pytest.raises(ValueError, match='same'):
        c2am_contrastive_loss(fg, bg[:1], 0.25)
    with pytest.raises(ValueError, match='Expected'):
        clamped_cosine_similarity(fg[0], bg)
