# Copyright (c) mmwsl contributors. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from mmwsl.models.losses import (
    feature_similarity_loss,
    hfpl_probs,
    importance_sampling_loss,
)
from mmwsl.registry import MODELS

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'hfpl')


def _samples(labels):
    out = []
    for row in labels:
        s = DataSample()
        s.set_gt_score(torch.tensor(row, dtype=torch.float32))
        out.append(s)
    return out


def _model(name, **head):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    cfg.model.head.update(head)
    return MODELS.build(cfg.model)


LABELS = [[1, 0, 1, 0], [0, 0, 0, 1]]


def test_synthetic_config_losses_and_backward():
    torch.manual_seed(0)
    model = _model('hfpl_cam_resnet18_synthetic-wsss.py')
    data = dict(
        inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2,
        data_samples=_samples(LABELS),
    )
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss', 'loss_is', 'loss_fs'}
    sum(losses.values()).backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0
    # The same terms by hand.
    feats = model.extract_feat(data['inputs'])
    maps = model.head.classifier(feats[-1]).detach()
    target = torch.tensor(LABELS, dtype=torch.float32)
    gap = torch.nn.functional.binary_cross_entropy_with_logits(
        maps.mean((2, 3)), target
    )
    assert losses['loss'].item() == pytest.approx(0.8 * gap.item(), rel=1e-5)
    images = model.input_images(data['inputs'])
    grid = torch.nn.functional.interpolate(
        images, maps.shape[-2:], mode='bilinear', align_corners=True
    )
    fs = feature_similarity_loss(grid, hfpl_probs(maps, target))
    assert losses['loss_fs'].item() == pytest.approx(fs.item(), rel=1e-4)
    # Predict / tensor modes are the baseline's.
    out = model(data['inputs'], mode='tensor')
    assert out['cams'].shape == (2, 4, 4, 4)


def test_fixed_indices_and_gap_only():
    torch.manual_seed(0)
    model = _model('hfpl_cam_resnet18_synthetic-wsss.py', aux_losses=[])
    feats = (torch.randn(2, 256, 4, 4),)
    samples = _samples(LABELS)
    maps = model.head.classifier(feats[0]).detach()
    target = torch.tensor(LABELS, dtype=torch.float32)
    idx = torch.randint(0, 16, (8, 10))
    # Deterministic through the module with fixed indices.
    ref = importance_sampling_loss(maps, target, 10, idx)
    assert model.head.is_loss(maps, target, idx).item() == ref.item()
    # pooling='gap' is the baseline head's loss.
    base = MODELS.build(
        dict(type='mmwsl.MultiLabelCAMHead', num_classes=4, in_channels=256)
    )
    gap_head = MODELS.build(
        dict(
            type='mmwsl.HFPLHead',
            num_classes=4,
            in_channels=256,
            pooling='gap',
        )
    )
    gap_head.load_state_dict(base.state_dict())
    assert gap_head.loss(feats, samples)['loss'].item() == pytest.approx(
        base.loss(feats, samples)['loss'].item()
    )


def test_multinomial_variant_and_errors():
    model = _model('hfpl-multinomial_cam_resnet18_synthetic-wsss.py')
    assert model.head.is_loss.posterior == 'multinomial'
    feats = (torch.randn(2, 256, 4, 4),)
    images = torch.rand(2, 3, 64, 64)
    losses = model.head.loss(feats, _samples(LABELS), images=images)
    assert set(losses) == {'loss', 'loss_is', 'loss_fs'}
    with pytest.raises(ValueError, match='input image'):
        model.head.loss(feats, _samples(LABELS))
    with pytest.raises(ValueError, match='pooling'):
        MODELS.build(
            dict(
                type='mmwsl.HFPLHead',
                num_classes=4,
                in_channels=8,
                pooling='max',
            )
        )


@pytest.mark.parametrize(
    'name,weight',
    [
        ('hfpl_cam_resnet50_voc12.py', 1.0),
        ('hfpl_cam_resnet50_coco14.py', 0.2),
    ],
)
def test_dataset_configs(name, weight):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.model.type == 'mmwsl.HFPLCAMClassifier'
    head = cfg.model.head
    assert head.type == 'mmwsl.HFPLHead' and head.in_channels == 2048
    assert head.is_weight == 0.2 and head.is_loss.num_samples == 10
    assert head.aux_losses[0].loss_weight == weight
    head = MODELS.build(head)
    assert head.aux_names == ['loss_fs']
