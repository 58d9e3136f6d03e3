# Copyright (c) mmwsl contributors. All rights reserved.
"""Adversarial-erasing region rules and CAM (specs/erasing.md T1-T4, T6,
T14 topk case)."""
import numpy as np
import pytest
import torch

from mmwsl.models.layers import (
    ErasePolicy,
    class_activation_map,
    erase_region,
    minmax_normalize,
)
from mmwsl.models.losses import SigmoidMSELoss, sigmoid_mse_loss

H = torch.tensor([[0, 1, 2, 3, 0], [1, 5, 8, 4, 1], [2, 9, 10, 6, 2],
                  [0, 3, 7, 2, 0]], dtype=torch.float32)
T2_MASK = [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 0, 0],
           [0, 0, 1, 0, 0]]


def test_t1_cam_sum_and_mean():
    feats = torch.tensor([[[1., 0.], [2., 1.]], [[0., 1.], [1., 3.]]])
    w = torch.tensor([[2., -1.]])
    cam = class_activation_map(feats, w)[0]
    assert cam.tolist() == [[2, -1], [3, -1]]
    mean = class_activation_map(feats, w, reduce='mean')[0]
    assert mean.tolist() == [[1, -0.5], [1.5, -0.5]]
    for m in (cam, mean):
        assert minmax_normalize(m).tolist() == [[0.75, 0], [1, 0]]
    # batched features (B, K, h, w) -> (B, C, h, w)
    assert class_activation_map(feats[None], w).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match='channels'):
        class_activation_map(feats, torch.ones(1, 3))


def test_t2_topk_ratio():
    mask = erase_region(H, 'topk_ratio', 0.2)
    assert mask.int().tolist() == T2_MASK
    assert mask.sum() == 4
    # np.quantile(H, 0.8) = 6.2 selects the same pixels
    assert (H.numpy() >= np.quantile(H.numpy(), 0.8)).tolist() == \
        mask.tolist()
    # numpy in, numpy out
    out = erase_region(H.numpy(), 'topk_ratio', 0.2)
    assert isinstance(out, np.ndarray) and out.astype(int).tolist() == \
        T2_MASK


@pytest.mark.parametrize('ratio,ge,gt', [(0.5, 6, 5), (0.6, 5, 4),
                                         (0.7, 4, 3)])
def test_t3_max_ratio(ratio, ge, gt):
    assert int(erase_region(H, 'max_ratio', ratio).sum()) == ge
    assert int(erase_region(H, 'max_ratio', ratio, 'gt').sum()) == gt
    if ratio == 0.7:
        assert erase_region(H, 'max_ratio', 0.7).int().tolist() == T2_MASK


def test_max_ratio_after_relu_and_minmax():
    # ReLU first: the negative values do not move the peak-relative rule
    neg = H - 20  # all negative -> nothing positive -> empty
    assert erase_region(neg, 'max_ratio', 0.5).sum() == 0
    shifted = H.clone()
    shifted[0, 0] = -100
    assert int(erase_region(shifted, 'max_ratio', 0.5).sum()) == 6
    # minmax: (H - min) / (max - min) >= 0.7 -> H >= 7 (4 pixels), >= 0.6: 5
    assert int(erase_region(H, 'minmax', 0.7).sum()) == 4
    assert int(erase_region(H, 'minmax', 0.6).sum()) == 5
    assert int(erase_region(H + 3, 'minmax', 0.6).sum()) == 5


def test_t4_ties_value_rule():
    t = torch.zeros(4, 5)
    t[0, :3] = 4
    t[1, :2] = 4
    t[0, 3:] = 1
    t[1, 2:] = 0
    mask = erase_region(t, 'topk_ratio', 0.2)
    assert int(mask.sum()) == 5
    assert bool(mask[t == 4].all())


def test_t14_constant_map_is_empty():
    for mode in ('topk_ratio', 'max_ratio', 'minmax'):
        assert erase_region(torch.full((4, 5), 3.), mode, 0.2).sum() == 0
        assert erase_region(torch.zeros(4, 5), mode, 0.2).sum() == 0


def test_topk_floor_not_selected():
    # A rectified map positive on 2 of 20 pixels: v_k = 0 is the floor, so
    # only the positive pixels are kept (not the 18 zeros).
    m = torch.zeros(4, 5)
    m[1, 1], m[2, 2] = 3., 1.
    assert erase_region(m, 'topk_ratio', 0.2).sum() == 2


def test_batched_maps_are_independent():
    stack = torch.stack([H, torch.full_like(H, 2.), H.flip(-1)])
    masks = erase_region(stack, 'topk_ratio', 0.2)
    assert masks.shape == (3, 4, 5)
    assert masks[0].int().tolist() == T2_MASK
    assert masks[1].sum() == 0
    assert masks[2].int().tolist() == torch.tensor(T2_MASK).flip(
        -1).tolist()


def test_t6_two_steps():
    f1 = erase_region(H, 'topk_ratio', 0.2)
    h2 = torch.tensor([[0, 2, 6, 5, 0], [1, 9, 1, 8, 1], [0, 1, 0, 7, 3],
                       [0, 2, 1, 4, 0]], dtype=torch.float32)
    f2 = ErasePolicy('topk_ratio', 0.2)(h2)
    assert sorted(map(tuple, f2.nonzero().tolist())) == [(0, 2), (1, 1),
                                                          (1, 3), (2, 3)]
    e2 = f1 | f2
    assert e2.int().tolist() == [[0, 0, 1, 0, 0], [0, 1, 1, 1, 0],
                                 [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]]
    assert float(e2.float().mean()) == pytest.approx(0.40)


def test_policy_validation():
    with pytest.raises(ValueError, match='mode'):
        ErasePolicy('top', 0.2)
    with pytest.raises(ValueError, match='ratio'):
        ErasePolicy('topk_ratio', 0.0)
    with pytest.raises(ValueError, match='cmp'):
        ErasePolicy('topk_ratio', 0.2, 'le')
    with pytest.raises(ValueError, match='NaN'):
        erase_region(torch.tensor([[float('nan'), 1.]]), 'minmax', 0.5)
    assert ErasePolicy().to_dict() == dict(mode='topk_ratio', ratio=0.2,
                                           cmp='ge')


def test_sigmoid_mse_loss():
    logits = torch.tensor([[0., 2.]])
    target = torch.tensor([[1., 0.]])
    s = torch.sigmoid(torch.tensor(2.))
    expected = ((0.5 - 1) ** 2 + float(s) ** 2) / 2
    assert float(sigmoid_mse_loss(logits, target)) == pytest.approx(expected)
    assert float(SigmoidMSELoss(loss_weight=2.)(logits, target)) == \
        pytest.approx(2 * expected)
