# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN model pieces: head shapes, frozen backbone, boundary map for the
walk, the random rescale transform."""

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwsl.datasets.transforms import RandomRescale
from mmwsl.registry import MODELS


def tiny_irn():
    cfg = dict(
        type='mmwsl.InterPixelRelationNet',
        data_preprocessor=dict(
            type='mmseg.SegDataPreProcessor',
            mean=[0, 0, 0],
            std=[1, 1, 1],
            size=(48, 48),
            seg_pad_val=255,
        ),
        backbone=dict(
            type='mmpretrain.ResNet',
            depth=18,
            stem_channels=16,
            base_channels=16,
            strides=(1, 2, 2, 1),
            out_indices=(3,),
            frozen_stages=4,
            norm_eval=True,
        ),
        head=dict(
            type='mmwsl.IRNHead',
            in_channels=(16, 16, 32, 64, 128),
            edge_channels=8,
            dp_channels=(8, 16, 32),
        ),
        loss=dict(type='mmwsl.IRNAffinityLoss', radius=3),
        test_pad_size=(48, 48),
    )
    with DefaultScope.overwrite_default_scope('mmwsl'):
        return MODELS.build(cfg)


def test_head_shapes_and_frozen_backbone():
    torch.manual_seed(0)
    model = tiny_irn()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    model.train()
    assert not model.backbone.training and model.head.training
    for size in ((48, 48), (45, 50)):
        out = model(torch.rand(2, 3, *size), mode='tensor')
        h, w = (size[0] + 3) // 4, (size[1] + 3) // 4
        assert out['edge'].shape == (2, 1, h, w)
        assert out['displacement'].shape == (2, 2, h, w)
    label = torch.zeros(1, 48, 48, dtype=torch.long)
    label[:, 10:30, 12:36] = 2
    label[:, 40:] = 255
    sample = SegDataSample(gt_sem_seg=PixelData(data=label))
    grid = model.grid_labels([sample], (12, 12))
    assert grid.shape == (1, 12, 12)
    # nearest sampling at 4 i + 2
    assert torch.equal(grid[0], label[0, 2::4, 2::4])
    losses = model(torch.rand(1, 3, 48, 48), [sample], mode='loss')
    assert set(losses) == {
        'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg', 'loss_dp_fg',
        'loss_dp_bg',
    }
    sum(losses.values()).backward()
    assert model.head.edge_out.weight.grad.abs().sum() > 0
    with pytest.raises(KeyError, match='gt_sem_seg'):
        model(torch.rand(1, 3, 48, 48), [SegDataSample()], mode='loss')


def test_edge_map_averages_the_flip():
    torch.manual_seed(0)
    model = tiny_irn().eval()
    img = torch.rand(3, 37, 41)
    edge = model.edge_map(img)
    assert edge.shape == ((37 - 1) // 4 + 1, (41 - 1) // 4 + 1)
    assert edge.min() > 0 and edge.max() < 1
    # Without the flip: the plain prediction on the padded input.
    plain = model.edge_map(img, flip=False)
    padded = torch.nn.functional.pad(img[None], (0, 48 - 41, 0, 48 - 37))
    pred = model.predict(padded)[0].pred_edge.data[0, :10, :11]
    torch.testing.assert_close(plain, pred)
    assert not torch.allclose(edge, plain)


def test_random_rescale():
    np.random.seed(0)
    img = np.random.randint(0, 255, (40, 60, 3), np.uint8)
    seg = np.zeros((40, 60), np.uint8)
    seg[10:30, 20:40] = 3
    seg[0, 0] = 255
    t = RandomRescale(ratio_range=(0.5, 1.5))
    sizes = set()
    for _ in range(5):
        out = t(dict(img=img.copy(), gt_seg_map=seg.copy()))
        h, w = out['img'].shape[:2]
        assert out['gt_seg_map'].shape == (h, w)
        assert 20 <= h <= 60 and abs(w / h - 1.5) < 0.06
        # nearest neighbour: no new label values
        assert set(np.unique(out['gt_seg_map'])) <= {0, 3, 255}
        sizes.add((h, w))
    assert len(sizes) > 1
    with pytest.raises(ValueError, match='ratio_range'):
        RandomRescale(ratio_range=(0, 1))
