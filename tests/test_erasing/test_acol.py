# Copyright (c) mmwsl contributors. All rights reserved.
"""ACoLHead: erase rule (spec T10), CAM fusion (T1), losses, gradients,
and its use inside WSOLClassifier."""
import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsl.models.heads import ACoLHead, acol_erase_mask
from mmwsl.registry import MODELS

# Shared CAM of the spec (section 4), (row, col) indexing.
H = torch.tensor([[0., 1., 2., 3., 0.],
                  [1., 5., 8., 4., 1.],
                  [2., 9., 10., 6., 2.],
                  [0., 3., 7., 2., 0.]])


def test_t10_erase_delta_07():
    erased = acol_erase_mask(H[None], 0.7)[0]
    keep = (~erased).long()
    assert keep.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 1, 1],
                             [1, 0, 0, 1, 1], [1, 1, 0, 1, 1]]
    assert int(erased.sum()) == 4


def test_t10_erase_delta_06_adds_one_pixel():
    erased = acol_erase_mask(H[None], 0.6)[0]
    assert int(erased.sum()) == 5
    extra = erased & ~acol_erase_mask(H[None], 0.7)[0]
    assert extra.nonzero().tolist() == [[2, 3]]


def test_t10_ge_not_gt():
    # 0.6 * 10 = 6 is erased with >= (a strict > would keep it).
    assert bool(acol_erase_mask(H[None], 0.6)[0, 2, 3])


def test_t10_constant_map_erases_nothing():
    const = torch.full((1, 4, 5), 3.)
    flat = const.flatten(1)
    norm = (flat - flat.min()) / (flat.max() - flat.min())
    assert torch.isnan(norm).all()  # 0 / 0, as in the references
    for delta in (0., 0.6, 0.7, 1.):
        assert not acol_erase_mask(const, delta).any()
    # In a batch only the constant sample is spared.
    both = torch.stack([H, torch.zeros(4, 5)])
    assert acol_erase_mask(both, 0.7).sum((1, 2)).tolist() == [4, 0]


def test_erase_mask_is_scale_and_shift_invariant():
    assert torch.equal(acol_erase_mask(H[None], 0.7),
                       acol_erase_mask(3 * H[None] - 5, 0.7))


def _head(**kwargs):
    cfg = dict(num_classes=3, in_channels=2, mid_channels=4)
    cfg.update(kwargs)
    head = ACoLHead(**cfg)
    head.init_weights()
    return head


def test_head_erases_features_of_the_target_class_map():
    """Branch B receives F * (1 - E) with E from the GT class's A map."""
    torch.manual_seed(0)
    head = _head(delta=0.7)
    feats = torch.rand(2, 2, 4, 5)
    seen = {}
    head.classifier_b.register_forward_pre_hook(
        lambda m, args: seen.setdefault('x', args[0].clone()))
    targets = torch.tensor([2, 0])
    out = head.forward_tensor((feats, ), targets)
    maps_a = head.classifier_a(feats)
    for i, t in enumerate(targets.tolist()):
        expected = acol_erase_mask(maps_a[i, t][None], 0.7)[0]
        assert torch.equal(out['erase_mask'][i], expected)
        assert expected.any() and not expected.all()
        keep = (~expected).float()
        assert torch.equal(seen['x'][i], feats[i] * keep)
    assert out['cls_score'].shape == out['cls_score_b'].shape == (2, 3)
    assert torch.allclose(out['cls_score'], maps_a.mean((2, 3)))


def test_head_without_targets_uses_argmax():
    torch.manual_seed(1)
    head = _head()
    feats = torch.rand(3, 2, 4, 5)
    out = head.forward_tensor((feats, ))
    pred = out['cls_score'].argmax(1)
    ref = head.forward_tensor((feats, ), pred)
    assert torch.equal(out['erase_mask'], ref['erase_mask'])


def test_t1_cam_fusion_is_max_of_normalised_branches():
    """Per-(sample, class) min-max maps of both branches, then max."""
    torch.manual_seed(2)
    head = _head()
    out = head.forward_tensor((torch.rand(2, 2, 3, 3), ))

    def norm(m):
        f = m.flatten(2)
        low, high = f.min(2, keepdim=True)[0], f.max(2, keepdim=True)[0]
        return ((f - low) / (high - low)).view_as(m)

    expected = torch.maximum(norm(out['maps_a']), norm(out['maps_b']))
    assert torch.allclose(out['cams'], expected)
    # The spec's T1 map: channel-mean CAM [[1, -.5], [1.5, -.5]].
    cam = torch.tensor([[[[1., -.5], [1.5, -.5]]]])
    fused = torch.maximum(norm(cam), norm(2 * cam))
    assert fused[0, 0].tolist() == [[0.75, 0.], [1., 0.]]


def _samples(labels):
    return [DataSample().set_gt_label(label) for label in labels]


def test_loss_is_ce_a_plus_ce_b():
    torch.manual_seed(3)
    head = _head(cal_acc=True)
    feats = torch.rand(2, 2, 4, 5)
    labels = torch.tensor([1, 2])
    losses = head.loss((feats, ), _samples(labels.tolist()))
    out = head.forward_tensor((feats, ), labels)
    ce = torch.nn.functional.cross_entropy
    assert torch.allclose(losses['loss_cls_a'], ce(out['cls_score'], labels))
    assert torch.allclose(losses['loss_cls_b'],
                          ce(out['cls_score_b'], labels))
    assert 'accuracy_top-1' in losses


def test_no_gradient_through_the_erase_mask():
    """Branch B's loss reaches classifier A only through nothing: the
    mask is a constant. The features get gradient only where kept."""
    torch.manual_seed(4)
    head = _head(delta=0.5)
    feats = torch.rand(2, 2, 4, 5, requires_grad=True)
    losses = head.loss((feats, ), _samples([0, 1]))
    losses['loss_cls_b'].backward()
    for p in head.classifier_a.parameters():
        assert p.grad is None or not p.grad.any()
    assert any(p.grad.abs().sum() > 0 for p in head.classifier_b.parameters())
    out = head.forward_tensor((feats.detach(), ), torch.tensor([0, 1]))
    erased = out['erase_mask'][:, None].expand_as(feats)
    assert erased.any()
    assert not feats.grad[erased].any()
    assert feats.grad[~erased].abs().sum() > 0


def test_avg_pool_option():
    torch.manual_seed(5)
    head = _head(feat_avg_pool=True)
    feats = torch.rand(1, 2, 4, 5)
    pooled = torch.nn.functional.avg_pool2d(feats, 3, 1, 1)
    assert torch.allclose(head((feats, )),
                          head.classifier_a(pooled).mean((2, 3)))
    # count_include_pad: a corner averages 4 values over 9 cells.
    assert pooled[0, 0, 0, 0] == pytest.approx(
        float(feats[0, 0, :2, :2].sum() / 9))


def test_predict_gt_cam_and_branch_a_scores():
    torch.manual_seed(6)
    head = _head()
    feats = torch.rand(2, 2, 4, 5)
    samples = head.predict((feats, ), _samples([2, 0]))
    out = head.forward_tensor((feats, ), torch.tensor([2, 0]))
    for i, (sample, label) in enumerate(zip(samples, (2, 0))):
        assert sample.cam_label == label
        assert torch.allclose(sample.cam, out['cams'][i, label])
        assert torch.allclose(sample.pred_score,
                              out['cls_score'][i].softmax(0))
    # Without labels (or cam_class='pred'): the predicted class.
    unlabeled = head.predict((feats, ))
    pred = out['cls_score'].argmax(1).tolist()
    assert [s.cam_label for s in unlabeled] == pred
    by_pred = _head(cam_class='pred')
    by_pred.load_state_dict(head.state_dict())
    assert [s.cam_label for s in by_pred.predict(
        (feats, ), _samples([2, 0]))] == pred


def test_multilabel_erases_max_over_positive_classes():
    torch.manual_seed(7)
    head = _head(multilabel=True, delta=0.7)
    maps = torch.stack([H, H.flip(1), torch.zeros(4, 5)])[None]
    targets = torch.tensor([[1., 1., 0.]])
    mask = head.erase_mask(maps, targets)
    expected = (acol_erase_mask(H[None], 0.7)
                | acol_erase_mask(H.flip(1)[None], 0.7))
    assert torch.equal(mask, expected)
    # A constant positive map contributes nothing.
    only_const = head.erase_mask(maps, torch.tensor([[0., 0., 1.]]))
    assert not only_const.any()
    samples = [DataSample().set_gt_label([0, 2])]
    samples[0].set_field(torch.tensor([1., 0., 1.]), 'gt_score')
    losses = head.loss((torch.rand(1, 2, 4, 5), ), samples)
    assert losses['loss_cls_a'] > 0 and losses['loss_cls_b'] > 0


def test_bad_config_and_inputs():
    with pytest.raises(ValueError, match='delta'):
        ACoLHead(num_classes=2, in_channels=2, delta=1.5)
    with pytest.raises(ValueError, match='cam_class'):
        ACoLHead(num_classes=2, in_channels=2, cam_class='max')
    head = _head()
    with pytest.raises(ValueError, match='in_channels'):
        head((torch.rand(1, 3, 4, 4), ))
    with pytest.raises(ValueError, match='no image-level label'):
        head.loss((torch.rand(1, 2, 4, 4), ), [DataSample()])


def test_inside_wsol_classifier():
    model = MODELS.build(dict(
        type='WSOLClassifier',
        backbone=dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(3, )),
        head=dict(type='ACoLHead', num_classes=3, in_channels=64,
                  mid_channels=8, cal_acc=True)))
    model.init_weights()
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64),
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=_samples([0, 2]))
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    from mmengine.optim import OptimWrapper
    log = model.train_step(data, OptimWrapper(optim))
    assert {'loss', 'loss_cls_a', 'loss_cls_b'} <= set(log)
    assert float(log['loss']) == pytest.approx(
        float(log['loss_cls_a'] + log['loss_cls_b']), rel=1e-5)
    model.eval()
    with torch.no_grad():
        samples = model.val_step(data)
    assert samples[0].cam.shape == (64, 64)
    assert float(samples[0].cam.min()) == 0.
    assert float(samples[0].cam.max()) == pytest.approx(1.)
    out = model(torch.rand(2, 3, 64, 64), mode='tensor')
    assert out['cams'].shape == (2, 3, 2, 2)
