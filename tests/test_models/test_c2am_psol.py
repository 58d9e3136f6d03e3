# Copyright (c) mmwsl contributors. All rights reserved.
"""The PSOL stage: pseudo boxes -> box regressor (spec section 4.3)."""

import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmwsl.apis.c2am_wsol import save_json_atomic
from mmwsl.datasets.transforms import (
    LoadPseudoBox,
    PackPSOLTarget,
    PSOLRandomFlip,
    RandomResizedBoxCrop,
)
from mmwsl.evaluation.functional import cam_to_boxes
from mmwsl.models.classifiers import box_map
from mmwsl.registry import DATASETS, METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_load_pseudo_box_uses_ceil():
    results = dict(
        img=np.zeros((100, 200, 3), np.uint8),
        pseudo_box=[0.133333, 0.2, 0.6, 0.333333],
    )
    box = LoadPseudoBox()(results)['psol_box']
    # x0 = ceil(26.67), y0 = ceil(20), x1 = ceil(146.67), y1 = ceil(53.33)
    np.testing.assert_array_equal(box, [27, 20, 147, 54])


def test_random_resized_box_crop_keeps_the_box():
    random.seed(0)
    crop = RandomResizedBoxCrop(size=32, scale=(0.2, 1.0))
    for _ in range(20):
        img = np.random.randint(0, 255, (60, 80, 3), np.uint8)
        results = crop(
            dict(img=img, psol_box=np.array([60.0, 40.0, 70.0, 50.0]))
        )
        assert results['img'].shape == (32, 32, 3)
        x0, y0, x1, y1 = results['psol_box']
        assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32


def test_crop_fallback_and_target():
    # No crop can be drawn (max_attempts=0): the fallback is the central
    # crop within the ratio range: 80x60 has ratio 4/3 -> the whole image.
    crop = RandomResizedBoxCrop(size=(30, 40), max_attempts=0)
    results = crop(
        dict(
            img=np.zeros((60, 80, 3), np.uint8),
            psol_box=np.array([8.0, 6.0, 40.0, 30.0]),
        )
    )
    np.testing.assert_allclose(results['psol_box'], [4, 3, 20, 15])
    target = PackPSOLTarget()(results)['psol_target']
    np.testing.assert_allclose(target, [0.1, 0.1, 0.4, 0.4], rtol=1e-6)
    flipped = PSOLRandomFlip(prob=1.0)(
        dict(
            img=np.zeros((30, 40, 3), np.uint8),
            psol_box=np.array([4.0, 3.0, 20.0, 15.0]),
        )
    )
    np.testing.assert_array_equal(flipped['psol_box'], [20, 3, 36, 15])


def test_box_map_round_trip():
    cam = box_map(torch.tensor([3.2, 5.0, 10.0, 12.5]), 16, 20)
    assert cam.shape == (16, 20)
    ys, xs = torch.nonzero(cam, as_tuple=True)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (3, 9, 5, 12)
    # wsolevaluation's box of the map: the continuous box, in pixels.
    np.testing.assert_array_equal(
        cam_to_boxes(cam.numpy().astype(np.float64), [0.5])[0],
        [[3, 5, 10, 13]],
    )
    # A degenerate box still covers a pixel.
    assert box_map(torch.tensor([4.0, 4.0, 4.0, 4.0]), 8, 8).sum() == 1


def _tiny_regressor():
    return MODELS.build(
        dict(
            type='mmwsl.PSOLRegressor',
            data_preprocessor=dict(
                mean=[128.0] * 3, std=[64.0] * 3, to_rgb=True
            ),
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                stem_channels=8,
                base_channels=8,
                out_indices=(3,),
            ),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(type='mmwsl.PSOLHead', in_channels=64, loss_weight=50.0),
        )
    )


def test_pseudo_box_dataset_train_and_predict(tmp_path):
    base = dict(
        type='mmwsl.SyntheticWSOLDataset',
        data_root=str(tmp_path / 'syn'),
        num_samples=dict(train=4, test=2),
        image_size=64,
    )
    train = DATASETS.build(dict(base, split='train'))
    boxes = {
        train.get_data_info(i)['img_path']: [0.1, 0.2, 0.5, 0.4]
        for i in range(len(train))
    }
    save_json_atomic(boxes, str(tmp_path / 'boxes.json'))
    pipeline = [
        dict(type='mmwsl.LoadImageWithCheck'),
        dict(type='mmwsl.LoadPseudoBox'),
        dict(type='mmwsl.RandomResizedBoxCrop', size=32),
        dict(type='mmwsl.PSOLRandomFlip', prob=0.5),
        dict(type='mmwsl.PackPSOLTarget'),
        dict(type='mmwsl.PackWSOLInputs', algorithm_keys=('psol_target',)),
    ]
    dataset = DATASETS.build(
        dict(
            type='mmwsl.PseudoBoxDataset',
            dataset=dict(base, split='train'),
            pseudo_boxes=str(tmp_path / 'boxes.json'),
            pipeline=pipeline,
        )
    )
    assert len(dataset) == 4
    assert dataset.metainfo['classes'] == train.metainfo['classes']
    batch = pseudo_collate([dataset[i] for i in range(4)])
    assert batch['data_samples'][0].psol_target.shape == (4,)

    torch.manual_seed(0)
    model = _tiny_regressor()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    pred = model(data['inputs'], mode='tensor')['pred_xywh']
    target = torch.stack(
        [torch.as_tensor(s.psol_target) for s in data['data_samples']]
    )
    torch.testing.assert_close(
        losses['loss_box'], 50 * ((pred - target) ** 2).mean()
    )
    losses['loss_box'].backward()
    assert model.head.fc[0].weight.grad.abs().sum() > 0

    model.eval()
    test = DATASETS.build(
        dict(
            base,
            split='test',
            pipeline=[
                dict(type='mmwsl.LoadImageWithCheck'),
                dict(type='mmwsl.PackWSOLInputs'),
            ],
        )
    )
    data = model.data_preprocessor(pseudo_collate([test[0], test[1]]), False)
    with torch.no_grad():
        xywh = model(data['inputs'], mode='tensor')['pred_xywh']
        out = model(**data, mode='predict')
    for sample, p in zip(out, xywh):
        expected = torch.cat([p[:2], p[:2] + p[2:]]) * 64
        torch.testing.assert_close(sample.pred_bboxes[0], expected)
        assert sample.cam.shape == (64, 64)
    metric = METRICS.build(
        dict(
            type='mmwsl.WSOLMetric',
            plot=False,
            loc_thresholds=[0.5],
            pixel_offset=0,
            strict_iou=True,
            class_balanced=True,
            box_rule='wsolevaluation',
        )
    )
    metric.process(None, [s.to_dict() for s in out])
    assert 'gt_known' in metric.compute_metrics(metric.results)


def test_missing_pseudo_box_is_named(tmp_path):
    base = dict(
        type='mmwsl.SyntheticWSOLDataset',
        data_root=str(tmp_path / 'syn'),
        num_samples=dict(train=2, test=1),
        image_size=32,
        split='train',
    )
    save_json_atomic({'other.png': [0, 0, 1, 1]}, str(tmp_path / 'b.json'))
    with pytest.raises(KeyError, match='00000.png'):
        DATASETS.build(
            dict(
                type='mmwsl.PseudoBoxDataset',
                dataset=base,
                pseudo_boxes=str(tmp_path / 'b.json'),
            )
        )


@pytest.mark.parametrize(
    'name', ['psol_resnet50_cub.py', 'psol_resnet50_ilsvrc.py']
)
def test_psol_configs(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'c2am', name))
    assert cfg.model.head.loss_weight == 50
    assert cfg.optim_wrapper.optimizer.lr == 0.002
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 2
    assert cfg.train_dataloader.dataset.type == 'mmwsl.PseudoBoxDataset'
    assert cfg.val_evaluator.pixel_offset == 0
    assert cfg.val_evaluator.class_balanced
    cfg.model.backbone.pop('init_cfg')
    model = MODELS.build(cfg.model)
    assert model.head.fc[0].in_features == 2048
