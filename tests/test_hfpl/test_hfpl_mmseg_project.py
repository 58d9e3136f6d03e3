# Copyright (c) mmwsl contributors. All rights reserved.
"""The projects/hfpl_mmseg example trains with the real MMSeg runner."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG = osp.join(
    ROOT,
    'projects',
    'hfpl_mmseg',
    'configs',
    'fsl_deeplabv3_r50-d8_4xb4-20k_voc12aug-pseudo-512x512.py',
)


def _tiny_dataset(root, n=4, size=32):
    rng = np.random.default_rng(0)
    (root / 'img').mkdir()
    (root / 'ann').mkdir()
    names = []
    for i in range(n):
        img = np.full((size, size, 3), 30, np.uint8)
        label = np.zeros((size, size), np.uint8)
        label[8:24, 4 + i : 20 + i] = 1 + i % 2
        img[label > 0] = (200, 40 + 100 * (i % 2), 60)
        img = np.clip(img + rng.integers(0, 20, img.shape), 0, 255)
        Image.fromarray(img.astype(np.uint8)).save(root / 'img' / f'{i}.jpg')
        Image.fromarray(label).save(root / 'ann' / f'{i}.png')
        names.append(str(i))
    (root / 'train.txt').write_text('\n'.join(names) + '\n')


def test_project_config_trains_on_cpu(tmp_path):
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.type == 'mmwsl.FSLEncoderDecoder'
    assert cfg.model.backbone.type == 'ResNetV1c'  # stock MMSeg parts
    _tiny_dataset(tmp_path)
    norm = dict(type='BN', requires_grad=True)
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.model.pretrained = None  # no download
    cfg.model.backbone.update(
        depth=18, stem_channels=16, base_channels=8, norm_cfg=norm
    )
    cfg.model.decode_head.update(
        in_channels=64, channels=16, num_classes=3, norm_cfg=norm
    )
    cfg.model.auxiliary_head.update(
        in_channels=32, channels=8, num_classes=3, norm_cfg=norm
    )
    cfg.model.fsl.impl = 'chunked'
    cfg.train_dataloader.update(batch_size=2, num_workers=0)
    cfg.train_dataloader.pop('persistent_workers', None)
    cfg.train_dataloader.dataset = dict(
        type='BaseSegDataset',
        metainfo=dict(classes=('background', 'a', 'b')),
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        ann_file='train.txt',
        img_suffix='.jpg',
        seg_map_suffix='.png',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ],
    )
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.visualization = dict(
        type='SegVisualizationHook', draw=False
    )
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    seen = []
    with DefaultScope.overwrite_default_scope('mmseg'):
        runner = Runner.from_cfg(cfg)
        model = runner.model
        orig = model.loss

        def spy(inputs, data_samples):
            losses = orig(inputs, data_samples)
            seen.append(
                {
                    k: float(v)
                    for k, v in losses.items()
                    if k.startswith('loss') or '.loss' in k
                }
            )
            return losses

        model.loss = spy
        before = model.decode_head.conv_seg.weight.detach().clone()
        runner.train()
    assert type(model).__name__ == 'FSLEncoderDecoder'
    assert len(seen) == 3
    assert {'decode.loss_ce', 'aux.loss_ce', 'loss_fs'} <= set(seen[0])
    assert all(np.isfinite(list(s.values())).all() for s in seen)
    assert not torch.equal(before, model.decode_head.conv_seg.weight)


def test_fsl_term_matches_functional():
    from mmwsl.models.losses import feature_similarity_loss
    from mmwsl.registry import MODELS

    cfg = Config.fromfile(CONFIG)
    norm = dict(type='BN', requires_grad=True)
    cfg.model.backbone.update(
        depth=18, stem_channels=16, base_channels=8, norm_cfg=norm
    )
    cfg.model.decode_head.update(
        in_channels=64, channels=16, num_classes=3, norm_cfg=norm
    )
    cfg.model.auxiliary_head = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    assert model.fsl.loss_weight == 1.0
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 32, 32)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    samples = []
    for _ in range(2):
        s = SegDataSample(
            metainfo=dict(img_shape=(32, 32), pad_shape=(32, 32))
        )
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 32, 32)))
        samples.append(s)
    model.eval()  # deterministic (no dropout) for the comparison
    losses = model.loss(inputs, samples)
    logits = model.decode_head.forward(model.extract_feat(inputs))
    grid = torch.nn.functional.interpolate(
        model.input_images(inputs),
        logits.shape[-2:],
        mode='bilinear',
        align_corners=True,
    )
    ref = feature_similarity_loss(grid, logits.softmax(1))
    assert losses['loss_fs'].item() == pytest.approx(ref.item(), rel=1e-5)
