# Copyright (c) mmwsl contributors. All rights reserved.
"""BASHead: shapes, loss terms (BAS spec section 7.2) and inference maps."""

import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsl.models.heads import BASHead
from mmwsl.registry import MODELS

CE_S1 = 0.126928  # CE([2, 0], 0)
CE_S2 = 0.313262  # CE([1, 0], 0)


def _samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def _toy_head(alpha=0.5, beta=1.5, **kwargs):
    """K = 2, one input channel: A_0 = late, A_1 = 0 (1x1 conv, no hidden
    layers); the generator map of class 0 is sigmoid(tap) (3x3 conv with
    only its centre tap), of class 1 sigmoid(0) = 0.5."""
    head = MODELS.build(
        dict(
            type='mmwsl.BASHead',
            num_classes=2,
            in_channels=1,
            tap_channels=1,
            mid_channels=(),
            loss_fg=dict(
                type='mmpretrain.CrossEntropyLoss', loss_weight=alpha
            ),
            loss_area=dict(type='mmwsl.AreaLoss', loss_weight=beta),
            **kwargs,
        )
    )
    with torch.no_grad():
        conv = head.classifier[0]
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0] = 1
        head.generator.weight.zero_()
        head.generator.bias.zero_()
        head.generator.weight[0, 0, 1, 1] = 1
    return head


def _tap(pattern):
    """(1, 1, 28, 28) tap whose class-0 sigmoid map is ~1 / ~0 / 0.5."""
    tap = torch.zeros(1, 1, 28, 28)
    if pattern == 'ones':
        tap.fill_(50)
    elif pattern == 'left_half':
        tap[..., :14] = 50
        tap[..., 14:] = -50
    elif pattern == 'quarter':
        tap.fill_(-50)
        tap[..., :14, :14] = 50
    return tap


def test_init_and_errors():
    head = BASHead(num_classes=5, in_channels=16, tap_channels=8)
    # h: 3x3 (16->1024), ReLU, 3x3 (1024->1024), ReLU, 1x1 (1024->5).
    assert [type(m).__name__ for m in head.classifier] == [
        'Conv2d',
        'ReLU',
        'Conv2d',
        'ReLU',
        'Conv2d',
    ]
    assert head.classifier[0].kernel_size == (3, 3)
    assert head.classifier[4].kernel_size == (1, 1)
    assert head.generator.kernel_size == (3, 3)
    assert head.generator.padding == (1, 1)
    relu_head = BASHead(5, 16, 8, final_relu=True)
    assert isinstance(relu_head.classifier[-1], torch.nn.ReLU)
    with pytest.raises(ValueError, match='cam_class'):
        BASHead(5, 16, 8, cam_class='top')
    with pytest.raises(ValueError, match='cam_topk'):
        BASHead(5, 16, 8, cam_topk=0)


def test_forward_tensor_shapes_and_checks():
    head = BASHead(
        num_classes=5, in_channels=16, tap_channels=8, mid_channels=(32, 32)
    )
    tap, late = torch.randn(2, 8, 12, 12), torch.randn(2, 16, 6, 6)
    out = head.forward_tensor((tap, late))
    assert out['cls_score'].shape == (2, 5)
    assert out['fg_map'].shape == (2, 5, 12, 12)
    assert out['cams'].shape == (2, 5, 6, 6)
    assert out['fg_map'].min() > 0 and out['fg_map'].max() < 1
    torch.testing.assert_close(out['cls_score'], out['cams'].mean((2, 3)))
    torch.testing.assert_close(head((tap, late)), out['cls_score'])
    with pytest.raises(ValueError, match='tap, late'):
        head.forward_tensor((late,))
    with pytest.raises(ValueError, match='tap_channels'):
        head.forward_tensor((late, late))
    with pytest.raises(ValueError, match='in_channels'):
        head.forward_tensor((tap, tap))


@pytest.mark.parametrize(
    'pattern, area, ce_fg',
    [('ones', 1.0, CE_S1), ('half', 0.5, CE_S2), ('left_half', 0.5, CE_S2)],
)
def test_foreground_logits(pattern, area, ce_fg):
    """L_frg: A_0 = 2, A_1 = 0 on 14x14, y = 0; score_2 = GAP(A * pool(M))."""
    head = _toy_head(alpha=1.0, beta=1.0)
    late = torch.full((1, 1, 14, 14), 2.0)
    losses = head.loss(
        (_tap(pattern), late),
        _samples([0]),
        late_stage=lambda x: F.max_pool2d(x, 2),
    )
    assert losses['loss_cls'].item() == pytest.approx(CE_S1, abs=1e-6)
    assert losses['loss_fg'].item() == pytest.approx(ce_fg, abs=1e-6)
    assert losses['loss_area'].item() == pytest.approx(area, abs=1e-6)
    # The erased features go through the frozen h: here h ignores them
    # (A_0 = late of the erased branch); late_stage returns the erased tap.


# alpha, beta, expected total (BAS spec section 7.2, "Total WSOL loss").
TOTALS = [
    (0.0, 0.9, 0.851928),
    (0.5, 1.5, 1.158559),
    (0.5, 1.9, 1.258559),
    (0.5, 1.0, 1.033559),
    (0.05, 1.0, 0.892591),
    (1.0, 2.0, 1.440190),
    (1.0, 2.5, 1.565190),
]


@pytest.mark.parametrize('alpha, beta, expected', TOTALS)
def test_total_loss(alpha, beta, expected):
    """CE(s1) = 0.126928, CE(s2) = 0.313262, bas = 0.5, area = 0.25."""
    head = _toy_head(alpha=alpha, beta=beta)
    # A_0 = 4 on the top-left quadrant and 4/3 elsewhere: S_0 = 2 and, with
    # the FPM = top-left quadrant, score_2 = [1, 0]; mean(FPM) = 0.25.
    late = torch.full((1, 1, 14, 14), 4.0 / 3.0)
    late[..., :7, :7] = 4.0
    # The erased branch gives S_bg = [1, 0]: ratio 1 / 2.
    losses = head.loss(
        (_tap('quarter'), late),
        _samples([0]),
        late_stage=lambda x: torch.ones(x.size(0), 1, 14, 14),
    )
    assert losses['loss_cls'].item() == pytest.approx(CE_S1, abs=1e-6)
    assert losses['loss_fg'].item() == pytest.approx(alpha * CE_S2, abs=1e-6)
    assert losses['loss_bg'].item() == pytest.approx(0.5, abs=1e-6)
    assert losses['loss_area'].item() == pytest.approx(beta * 0.25, abs=1e-6)
    total = sum(losses.values()).item()
    assert total == pytest.approx(expected, abs=1e-6)


def test_loss_gradient_paths():
    """Detach points inside the head: loss_bg and loss_area reach only the
    generator and the tap; loss_cls only h and the late features."""
    torch.manual_seed(0)
    head = BASHead(3, in_channels=4, tap_channels=4, mid_channels=())
    # h is a 1x1 conv with positive weights and the inputs are positive, so
    # erasing lowers the logit (0 < S_bg < S): L_bas has a gradient.
    with torch.no_grad():
        head.classifier[0].weight.abs_()
        head.classifier[0].bias.zero_()
    tap = torch.rand(2, 4, 8, 8, requires_grad=True)
    late = tap.detach()[..., ::2, ::2].clone().requires_grad_()
    losses = head.loss(
        (tap, late), _samples([0, 2]), late_stage=lambda x: x[..., ::2, ::2]
    )
    gen = list(head.generator.parameters())
    cls = list(head.classifier.parameters())
    expect = dict(
        loss_cls=(False, True, False, True),
        loss_fg=(True, True, True, True),
        loss_bg=(True, False, True, False),
        loss_area=(True, False, True, False),
    )
    assert 0 < losses['loss_bg'].item() < 1
    for name, (g_on, h_on, tap_on, late_on) in expect.items():
        grads = torch.autograd.grad(
            losses[name],
            gen + cls + [tap, late],
            retain_graph=True,
            allow_unused=True,
        )
        reached = [g is not None and g.abs().sum() > 0 for g in grads]
        assert any(reached[:2]) == g_on, name
        assert any(reached[2 : 2 + len(cls)]) == h_on, name
        assert reached[-2] == tap_on, name
        assert reached[-1] == late_on, name


def test_loss_requires_late_stage_and_labels():
    head = BASHead(3, in_channels=4, tap_channels=4, mid_channels=())
    feats = (torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4))
    with pytest.raises(TypeError, match='mmwsl.BAS'):
        head.loss(feats, _samples([0, 1]))
    with pytest.raises(ValueError, match='one gt_label'):
        head.loss(feats, [DataSample(), DataSample()], late_stage=F.relu)
    with pytest.raises(ValueError, match='out of range'):
        head.loss(
            feats, _samples([0, 3]), late_stage=lambda x: x[..., ::2, ::2]
        )


def test_loss_keys_and_accuracy():
    head = BASHead(3, 4, 4, mid_channels=(), cal_acc=True, topk=(1, 2))
    feats = (torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4))
    losses = head.loss(
        feats, _samples([0, 1]), late_stage=lambda x: x[..., ::2, ::2]
    )
    assert set(losses) == {
        'loss_cls',
        'loss_fg',
        'loss_bg',
        'loss_area',
        'accuracy_top-1',
        'accuracy_top-2',
    }


def test_topk_fpm():
    """10 classes, map of class k constant k/10, scores [0..9]: the top-3
    classes are 9, 8, 7 and the FPM is 0.8."""
    head = BASHead(10, 4, 4, mid_channels=(), cam_topk=3)
    fg_map = torch.arange(10.0).div(10).view(1, 10, 1, 1).expand(1, 10, 5, 5)
    scores = torch.arange(10.0)[None]
    samples = head._get_predictions(scores, None)
    cam = head.select_fg_map(fg_map, scores, samples)
    assert cam.shape == (1, 5, 5)
    torch.testing.assert_close(cam, torch.full((1, 5, 5), 0.8))
    assert scores.topk(3).indices.tolist() == [[9, 8, 7]]
    # k larger than K uses all classes (class-agnostic map).
    head.cam_topk = 200
    cam = head.select_fg_map(fg_map, scores, samples)
    torch.testing.assert_close(cam, torch.full((1, 5, 5), 0.45))


def test_predict_gt_and_pred_class():
    head = BASHead(4, 4, 4, mid_channels=())
    tap, late = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4)
    out = head.forward_tensor((tap, late))
    # GT class (ILSVRC / OpenImages protocol).
    samples = head.predict((tap, late), _samples([3, 1]))
    for i, (sample, label) in enumerate(zip(samples, [3, 1])):
        assert sample.cam_label == label
        torch.testing.assert_close(sample.cam, out['fg_map'][i, label])
        torch.testing.assert_close(
            sample.pred_score, out['cls_score'][i].softmax(0)
        )
    # Without labels (or cam_class='pred') the top-1 class is used.
    samples = head.predict((tap, late))
    top1 = out['cls_score'].argmax(1)
    for i, sample in enumerate(samples):
        assert sample.cam_label == int(top1[i])
        torch.testing.assert_close(sample.cam, out['fg_map'][i, top1[i]])
    head.cam_class = 'pred'
    samples = head.predict((tap, late), _samples([3, 1]))
    assert [s.cam_label for s in samples] == top1.tolist()


def test_ce_constants():
    # The printed constants are the cross entropies they stand for.
    assert math.log(1 + math.exp(-2)) == pytest.approx(CE_S1, abs=1e-6)
    assert math.log(1 + math.exp(-1)) == pytest.approx(CE_S2, abs=1e-6)
