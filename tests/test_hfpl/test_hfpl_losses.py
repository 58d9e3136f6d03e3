# Copyright (c) mmwsl contributors. All rights reserved.
"""Numeric cases of the HFPL spec (section 9) and the statistical check of
the importance-sampling gradient (section 2.3)."""

import math

import numpy as np
import pytest
import torch

from mmwsl.evaluation.functional import contour_fscore
from mmwsl.models.losses import (
    FeatureSimilarityLoss,
    ImportanceSamplingLoss,
    feature_similarity_loss,
    hfpl_probs,
    image_to_grid,
    importance_sampling_loss,
    max_norm,
    multinomial_importance_sampling_loss,
    probs_to_logits,
)
from mmwsl.models.losses.hfpl_loss import _pair_weights


# --------------------------------------------------------------- ISL 9.1
@pytest.mark.parametrize(
    'z,y,expected',
    [
        (0.0, 1.0, 0.6931472),
        (0.0, 0.0, 0.6931472),
        (2.0, 1.0, 0.1269280),
        (2.0, 0.0, 2.1269280),
    ],
)
def test_isl_constant_logits(z, y, expected):
    logits = torch.full((2, 3, 4, 5), z)
    labels = torch.full((2, 3), y)
    for s in (1, 10):
        loss = importance_sampling_loss(logits, labels, num_samples=s)
        assert loss.item() == pytest.approx(expected, abs=1e-6)


def _z2x2():
    return torch.tensor([2.0, 0.0, 0.0, -2.0]).reshape(1, 1, 2, 2)


def test_isl_sampling_distribution_values():
    z = _z2x2().flatten()
    q = torch.sigmoid(z) + 1e-5
    q = q / q.sum()
    np.testing.assert_allclose(
        q.numpy(), [0.4403947, 0.25, 0.25, 0.0596053], atol=1e-6
    )


@pytest.mark.parametrize(
    'y,exp_loss,exp_grad',
    [
        (1.0, 0.5292481, [-0.0524963, -0.125, -0.125, -0.0525001]),
        (0.0, 1.2908271, [0.3878984, 0.125, 0.125, 0.0071051]),
    ],
)
def test_isl_expectation_monte_carlo(y, exp_loss, exp_grad):
    """With S draws the gradient of pixel i is count_i/S * (sigma_i - y);
    its mean is q_i (sigma_i - y) and its std |sigma_i - y| sqrt(q(1-q)/S).
    """
    torch.manual_seed(0)
    s = 200_000
    z = _z2x2().double().requires_grad_()
    labels = torch.tensor([[y]], dtype=torch.float64)
    loss = importance_sampling_loss(z, labels, num_samples=s)
    loss.backward()
    sig = torch.sigmoid(z.detach()).flatten()
    q = (sig + 1e-5) / (sig + 1e-5).sum()
    grad_std = (sig - y).abs() * torch.sqrt(q * (1 - q) / s)
    grad = z.grad.flatten()
    assert torch.all(
        (grad - torch.tensor(exp_grad).double()).abs() <= 5 * grad_std + 1e-7
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        z.detach().flatten(),
        torch.full((4,), y, dtype=torch.float64),
        reduction='none',
    )
    loss_std = math.sqrt(float((q * (bce - exp_loss) ** 2).sum()) / s)
    assert abs(loss.item() - exp_loss) <= 5 * loss_std
    # GAP reference values of the spec.
    gap = torch.nn.functional.binary_cross_entropy_with_logits(
        z.detach().mean().reshape(1), torch.tensor([y]).double()
    )
    assert gap.item() == pytest.approx(0.6931472, abs=1e-6)


def test_isl_fixed_indices_deterministic():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    idx = torch.randint(0, 16, (6, 5))
    l1 = importance_sampling_loss(logits, labels, 5, indices=idx)
    l2 = importance_sampling_loss(logits, labels, 5, indices=idx)
    assert l1.item() == l2.item()
    # The same value by hand: mean BCE of the gathered raw logits.
    z = logits.detach().reshape(6, 16)
    t = labels.reshape(6, 1).expand(6, 5)
    zs = z.gather(1, idx)
    ref = (
        t * torch.nn.functional.softplus(-zs)
        + (1 - t) * torch.nn.functional.softplus(zs)
    ).mean()
    assert l1.item() == pytest.approx(ref.item(), abs=1e-6)
    # Gradient only at the gathered pixels: count * (sigma - y) / (B K S).
    l1.backward()
    grad = logits.grad.reshape(6, 16)
    counts = torch.zeros(6, 16).scatter_add_(1, idx, torch.ones(6, 5))
    expect = counts * (torch.sigmoid(z) - labels.reshape(6, 1)) / 30
    torch.testing.assert_close(grad, expect)


def test_isl_peaked_and_absent():
    torch.manual_seed(0)
    peaked = torch.tensor([20.0, -20.0, -20.0, -20.0]).reshape(1, 1, 2, 2)
    q = torch.sigmoid(peaked.flatten()) + 1e-5
    q = q / q.sum()
    assert q[0].item() == pytest.approx(0.99997, abs=1e-5)
    assert q[1].item() == pytest.approx(1.00017e-5, rel=1e-4)
    # Absent class, all -20: uniform sampling.
    absent = torch.full((1, 1, 4, 4), -20.0)
    sig = torch.sigmoid(absent.flatten())
    assert sig[0].item() == pytest.approx(2.06e-9, rel=1e-2)
    q = (sig + 1e-5) / (sig + 1e-5).sum()
    torch.testing.assert_close(q, torch.full((16,), 1 / 16))
    # No gradient reaches the weights: only the gathered logit moves.
    z = absent.clone().requires_grad_()
    importance_sampling_loss(
        z, torch.zeros(1, 1), 1, indices=torch.tensor([[3]])
    ).backward()
    assert (z.grad.flatten() != 0).nonzero().flatten().tolist() == [3]


def test_isl_bad_input():
    logits = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match='labels'):
        importance_sampling_loss(logits, torch.zeros(2, 4))
    with pytest.raises(ValueError, match='indices'):
        importance_sampling_loss(
            logits, torch.zeros(2, 3), indices=torch.zeros(5, 2).long()
        )
    with pytest.raises(ValueError, match='lie in'):
        importance_sampling_loss(
            logits, torch.zeros(2, 3), indices=torch.full((6, 2), 16)
        )
    with pytest.raises(ValueError, match='4-D|B, K'):
        importance_sampling_loss(torch.zeros(3, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='posterior'):
        ImportanceSamplingLoss(posterior='softmax')


# ---------------------------------------------------------- ICAM 9.4, 5.2
def test_probs_to_logits():
    p = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0], dtype=torch.float64)
    np.testing.assert_allclose(
        probs_to_logits(p).numpy(),
        [-6.9077553, -2.1883759, 0.0, 2.1883759, 6.9077553],
        atol=1e-7,
    )


def test_multinomial_isl():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3, requires_grad=True)  # bg + 3 classes
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    idx = torch.randint(0, 9, (6, 7))
    loss = multinomial_importance_sampling_loss(logits, labels, 7, idx)
    p = logits.detach().softmax(1)[:, 1:].reshape(6, 9).gather(1, idx)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        probs_to_logits(p), labels.reshape(6, 1).expand(6, 7)
    )
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)
    loss.backward()
    # The softmax couples every channel at the sampled pixels, bg included.
    assert logits.grad[:, 0].abs().sum() > 0
    module = ImportanceSamplingLoss(num_samples=7, posterior='multinomial')
    assert module(logits, labels, idx).item() == pytest.approx(loss.item())


# ------------------------------------------------------- FSL blocks 9.2
def test_fsl_colour_weight_and_kernel():
    d = torch.tensor(
        [0, 0.01, 0.05, 0.0758582, 0.1, 0.2, 0.5, 1.0], dtype=torch.float64
    )
    x = torch.stack([torch.zeros_like(d), d], 1)[:, :, None]  # (8,2,1)
    x = x.expand(8, 2, 3)
    far = torch.tensor([[0.0, 0.0], [1e6, 0.0]], dtype=torch.float64)
    kw = _pair_weights(x, x, far, far, 2.5, None, 1)  # global kernel 1/1
    w = kw[:, 0, 1].numpy()
    np.testing.assert_allclose(
        w,
        [
            -0.99999997,
            -0.97010824,
            -0.41716067,
            0.000121,
            0.29393165,
            0.80538155,
            0.98661430,
            1.0,
        ],
        atol=2e-6,
    )
    p = torch.tensor(
        [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 4.0]], dtype=torch.float64
    )
    zero = torch.zeros(1, 4, 3, dtype=torch.float64)
    ones = torch.ones(1, 4, 3, dtype=torch.float64)
    # d_x = 1 -> w = 1, so k w = k.
    k = _pair_weights(zero, ones, p, p, 2.5, 5.0, 4)[0, 0]
    np.testing.assert_allclose(
        k.numpy(),
        [0.006366198, 0.006240139, 0.006116576, 0.003861294],
        atol=1e-9,
    )


def test_max_norm_and_background():
    z = torch.tensor(
        [[[-1.0, 0.5], [2.0, 1.0]], [[3.0, 1.0], [0.5, -2.0]]],
        dtype=torch.float64,
    )[None]
    m = max_norm(z)[0]
    np.testing.assert_allclose(
        m[0].numpy(), [[0, 0.2499938], [0.99999, 0.4999925]], atol=1e-7
    )
    np.testing.assert_allclose(
        m[1].numpy(), [[0.9999933, 0.3333289], [0.1666628, 0]], atol=1e-7
    )
    probs = hfpl_probs(z, torch.ones(1, 2, dtype=torch.float64))[0]
    np.testing.assert_allclose(
        probs[0].numpy(),
        [[6.67e-6, 0.6666711], [1.0e-5, 0.5000075]],
        atol=1e-8,
    )
    # Absent classes are zeroed before the background is formed.
    probs = hfpl_probs(z, torch.tensor([[1.0, 0.0]]).double())[0]
    assert probs[2].abs().max() == 0
    torch.testing.assert_close(probs[0], 1 - probs[1])


# ------------------------------------------------------ FSL end-to-end 9.3
def _img(rgb, h, w):
    return (
        torch.tensor(rgb, dtype=torch.float64)
        .reshape(h, w, 3)
        .permute(2, 0, 1)[None]
    )


def _probs(vals, h, w):
    return (
        torch.tensor(vals, dtype=torch.float64)
        .reshape(h, w, -1)
        .permute(2, 0, 1)[None]
    )


BLACK, WHITE = (0, 0, 0), (1, 1, 1)
FSL_CASES = {
    'A': ([BLACK, WHITE], [(1, 0), (0, 1)], 1, 2, -0.0062401386),
    'B': ([(0.5,) * 3] * 2, [(1, 0), (0, 1)], 1, 2, 0.0062401384),
    'C': ([BLACK, WHITE], [(1, 0), (1, 0)], 1, 2, 0.0),
    'D': ([(0.2,) * 3, (0.3,) * 3], [(1, 0), (0, 1)], 1, 2, -0.0018341742),
    'E': (
        [BLACK, WHITE, BLACK, WHITE],
        [(1, 0), (0, 1), (1, 0), (0, 1)],
        2,
        2,
        -0.0123567141,
    ),
    'F': (
        [BLACK, WHITE, BLACK, WHITE],
        [(1, 0), (1, 0), (0, 1), (0, 1)],
        2,
        2,
        0.0001235628,
    ),
    'G': ([BLACK, WHITE], [(0.8, 0.2), (0.3, 0.7)], 1, 2, -0.0015600346),
}


@pytest.mark.parametrize('impl', ['dense', 'chunked'])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('case', sorted(FSL_CASES))
def test_fsl_end_to_end(case, dtype, impl):
    rgb, vals, h, w, expected = FSL_CASES[case]
    x, y = _img(rgb, h, w).to(dtype), _probs(vals, h, w).to(dtype)
    loss = feature_similarity_loss(
        x, y, mu=2.5, sigma=5.0, impl=impl, chunk_rows=1
    )
    tol = 1e-10 if dtype == torch.float64 else 1e-8
    assert loss.item() == pytest.approx(expected, abs=tol)
    # ICAM's d_y = ||Δ||² doubles the value.
    icam = feature_similarity_loss(x, y, impl=impl, dy_scale=1.0)
    assert icam.item() == pytest.approx(2 * expected, abs=2 * tol)


@pytest.mark.parametrize('sigma', [5.0, 1.5, None])
def test_fsl_chunked_equals_dense(sigma):
    torch.manual_seed(0)
    x = torch.rand(3, 3, 7, 9)
    logits = torch.randn(3, 4, 7, 9, requires_grad=True)
    labels = torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1]])
    grads, values = [], []
    for impl, rows in (
        ('dense', None),
        ('chunked', 5),
        ('chunked', 1),
        ('chunked', 1000),
    ):
        logits.grad = None
        loss = feature_similarity_loss(
            x,
            hfpl_probs(logits, labels),
            sigma=sigma,
            impl=impl,
            chunk_rows=rows,
        )
        loss.backward()
        values.append(loss.item())
        grads.append(logits.grad.clone())
    for v, g in zip(values[1:], grads[1:]):
        assert v == pytest.approx(values[0], rel=1e-5, abs=1e-9)
        torch.testing.assert_close(g, grads[0], rtol=1e-4, atol=1e-8)


def test_fsl_chunked_gradcheck():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 3, 4, dtype=torch.float64)
    y = torch.rand(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: feature_similarity_loss(
            x, t, sigma=2.0, impl='chunked', chunk_rows=5
        ),
        (y,),
    )


def test_fsl_module_auto_and_errors():
    torch.manual_seed(0)
    x, y = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    module = FeatureSimilarityLoss(loss_weight=0.2)
    ref = feature_similarity_loss(x, y, impl='dense')
    assert module(x, y).item() == pytest.approx(0.2 * ref.item(), rel=1e-6)
    with pytest.raises(ValueError, match='grid'):
        feature_similarity_loss(torch.rand(1, 3, 4, 5), y)
    with pytest.raises(ValueError, match='impl'):
        feature_similarity_loss(x, y, impl='fast')
    with pytest.raises(ValueError, match='4-D'):
        feature_similarity_loss(x[0], y[0])


def test_image_to_grid():
    img = torch.rand(2, 3, 8, 8)
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    norm = (img * 255 - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[
        :, None, None
    ]
    grid = image_to_grid(norm, (8, 8), mean, std)
    torch.testing.assert_close(grid, img, atol=1e-5, rtol=0)
    assert image_to_grid(norm, (3, 3), mean, std).shape == (2, 3, 3, 3)


# ------------------------------------------------------- contour F 9.5
def test_contour_fscore_reused():
    gt = np.zeros((10, 10), np.uint8)
    gt[2:7, 2:7] = 1
    shifted = np.zeros_like(gt)
    shifted[2:7, 4:9] = 1
    res = contour_fscore([shifted], [gt], num_classes=3)
    # class 1: F = 0.6; class 2 absent in both: F = 1.
    assert res['per_class'][0] == pytest.approx(60.0)
    assert res['per_class'][1] == pytest.approx(100.0)
    assert contour_fscore([gt], [gt], num_classes=2)[
        'fscore'
    ] == pytest.approx(100.0)
