# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN pair labels from IR label maps and the affinity/displacement loss."""

import math

import numpy as np
import pytest
import torch

from mmwsl.models.layers.path_index import PathIndex
from mmwsl.models.losses.irn_loss import IRNAffinityLoss, affinity_labels

LABEL = np.array(
    [
        [0, 0, 1, 1, 2],
        [0, 255, 1, 1, 2],
        [0, 0, 1, 255, 2],
        [0, 0, 0, 2, 2],
    ]
)


def brute_force(label, pi):
    flat = label.reshape(-1)
    d, n = pi.dst_indices.shape
    bg, fg, neg = (np.zeros((d, n)) for _ in range(3))
    for i in range(d):
        for j in range(n):
            a, b = flat[pi.src_indices[j]], flat[pi.dst_indices[i, j]]
            if a == 255 or b == 255:
                continue
            if a != b:
                neg[i, j] = 1
            elif a == 0:
                bg[i, j] = 1
            else:
                fg[i, j] = 1
    return bg, fg, neg


def test_affinity_labels_match_the_rule():
    pi = PathIndex(2, LABEL.shape)
    bg, fg, neg = affinity_labels(
        torch.from_numpy(LABEL), pi.src_indices, pi.dst_indices
    )
    ebg, efg, eneg = brute_force(LABEL, pi)
    np.testing.assert_array_equal(bg.numpy(), ebg)
    np.testing.assert_array_equal(fg.numpy(), efg)
    np.testing.assert_array_equal(neg.numpy(), eneg)
    # Pairs with an ignored end carry no label; each pair has one label.
    total = bg + fg + neg
    assert total.max() == 1
    flat = LABEL.reshape(-1)
    ignored = (flat[pi.src_indices][None] == 255) | (
        flat[pi.dst_indices] == 255
    )
    assert ignored.any() and total.numpy()[ignored].sum() == 0
    assert (total.numpy()[~ignored] == 1).all()
    assert (int(bg.sum()), int(fg.sum()), int(neg.sum())) == (
        int(ebg.sum()),
        int(efg.sum()),
        int(eneg.sum()),
    )
    # Batched form.
    b = affinity_labels(
        torch.from_numpy(np.stack([LABEL, LABEL])),
        pi.src_indices,
        pi.dst_indices,
    )
    assert b[2].shape == (2,) + neg.shape
    assert torch.equal(b[2][1], neg)


def test_loss_values():
    loss = IRNAffinityLoss(radius=2)
    label = torch.from_numpy(LABEL)[None]
    edge = torch.zeros(1, 1, 4, 5, requires_grad=True)
    disp = torch.zeros(1, 2, 4, 5, requires_grad=True)
    out = loss(edge, disp, label)
    # Affinity 0.5 everywhere: -log(0.5 + 1e-5) for both terms.
    t = -math.log(0.5 + 1e-5)
    assert out['loss_aff_bg'].item() == pytest.approx(t / 4, rel=1e-4)
    assert out['loss_aff_fg'].item() == pytest.approx(t / 4, rel=1e-4)
    assert out['loss_aff_neg'].item() == pytest.approx(t / 2, rel=1e-4)
    # Zero displacement: no background term; the foreground term is the
    # mean |offset| per channel of the foreground pairs.
    assert out['loss_dp_bg'].item() == 0
    pi = loss.path_index((4, 5))
    _, fg, _ = affinity_labels(label[0], pi.src_indices, pi.dst_indices)
    offs = np.abs(pi.directions).sum(1)[:, None] * fg.numpy()
    expect = offs.sum() / (2 * fg.sum().item() + 1e-5) / 2
    assert out['loss_dp_fg'].item() == pytest.approx(expect, rel=1e-5)
    sum(out.values()).backward()
    assert edge.grad.abs().sum() > 0 and disp.grad.abs().sum() > 0

    # A confident "no boundary" map makes positive pairs cheap and
    # negative pairs expensive; a boundary everywhere does the opposite.
    none = loss(torch.full((1, 1, 4, 5), -8.0), None, label)
    assert 'loss_dp_fg' not in none
    assert none['loss_aff_bg'] < 1e-3 and none['loss_aff_fg'] < 1e-3
    assert none['loss_aff_neg'] > 3
    wall = loss(torch.full((1, 1, 4, 5), 8.0), None, label)
    assert wall['loss_aff_neg'] < 1e-3 and wall['loss_aff_bg'] > 1


def test_size_mismatch_is_reported():
    with pytest.raises(ValueError, match='differ in size'):
        IRNAffinityLoss(radius=2)(
            torch.zeros(1, 1, 4, 5), None, torch.zeros(1, 4, 6)
        )
