# Copyright (c) mmwsl contributors. All rights reserved.
import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsl.models.layers import localization_map, minmax_normalize
from mmwsl.registry import MODELS

MODEL = dict(
    type='mmwsl.WSOLClassifier',
    backbone=dict(type='mmpretrain.ResNet', depth=18, stem_channels=16,
                  base_channels=16, strides=(1, 2, 2, 1), out_indices=(3, )),
    head=dict(type='mmwsl.CAMHead', num_classes=3, in_channels=128))


def _samples(labels, size=64):
    out = []
    for label in labels:
        s = DataSample().set_gt_label(label)
        s.set_metainfo(dict(img_shape=(size, size)))
        out.append(s)
    return out


def test_modes():
    model = MODELS.build(MODEL)
    x = torch.rand(2, 3, 64, 64)
    out = model(x, mode='tensor')
    assert out['cls_score'].shape == (2, 3)
    assert out['cams'].shape == (2, 3, 4, 4)
    losses = model(x, _samples([0, 2]), mode='loss')
    assert set(losses) == {'loss'} and losses['loss'].item() > 0
    model.eval()
    preds = model(x, _samples([0, 2]), mode='predict')
    for p, label in zip(preds, [0, 2]):
        assert p.cam.shape == (64, 64)
        assert p.cam.min() == 0 and p.cam.max() == 1
        assert p.cam_label == label  # GT-known map
        assert p.pred_score.shape == (3, )


def test_cam_is_linear_in_features():
    # The class-k CAM averaged over space equals the class-k logit - bias.
    model = MODELS.build(MODEL)
    x = torch.rand(2, 3, 64, 64)
    out = model(x, mode='tensor')
    bias = model.head.fc.bias
    torch.testing.assert_close(out['cams'].mean((2, 3)) + bias,
                               out['cls_score'])


def test_pred_class_map():
    model = MODELS.build(dict(MODEL, head=dict(MODEL['head'],
                                               cam_class='pred')))
    model.eval()
    preds = model(torch.rand(2, 3, 64, 64), _samples([0, 0]), 'predict')
    for p in preds:
        assert p.cam_label == int(p.pred_label)


def test_every_parameter_gets_a_gradient():
    model = MODELS.build(MODEL)
    loss = model(torch.rand(2, 3, 64, 64), _samples([1, 2]), 'loss')['loss']
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_wrong_in_channels_is_explained():
    model = MODELS.build(dict(MODEL, head=dict(MODEL['head'],
                                               in_channels=64)))
    with pytest.raises(ValueError, match='expects a .*64, h, w'):
        model(torch.rand(1, 3, 64, 64), mode='tensor')


def test_minmax_normalize_rules():
    maps = torch.tensor([[[1., 2.], [3., 5.]], [[2., 2.], [2., 2.]]])
    out = minmax_normalize(maps)
    torch.testing.assert_close(out[0], torch.tensor([[0, .25], [.5, 1.]]))
    assert (out[1] == 0).all()  # constant map -> zeros
    with pytest.raises(ValueError, match='NaN'):
        minmax_normalize(torch.tensor([[[float('nan'), 1.]]]))
    bas = minmax_normalize(maps[:1], eps=1e-5)
    assert bas.max() < 1


def test_localization_map_orders():
    raw = torch.rand(2, 4, 4)
    after = localization_map(raw, (16, 16), 'bicubic', False)
    first = localization_map(raw, (16, 16), 'bilinear', True, 1e-5)
    assert after.shape == first.shape == (2, 16, 16)
    assert after.amin((1, 2)).eq(0).all() and after.amax((1, 2)).eq(1).all()
    assert first.min() >= 0 and first.max() < 1
