# Copyright (c) mmwsl contributors. All rights reserved.
"""configs/bas WSSS configs: the BAS-Extension WSSS recipe (spec 1.5, 2.6,
3.2, 5.1, quirks 19-20), the synthetic config's budget, network shapes at
448 and 321 x 500 (spec 7.2) and loss / predict forwards of every config on
tiny inputs."""

import os.path as osp

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, DefaultScope
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG_DIR = osp.join(ROOT, 'configs', 'bas')
# name: (classes, dataset type)
REAL = {
    'bas_resnet50_voc12': (20, 'mmwsl.VOC12ClsDataset'),
    'bas_resnet50_coco14': (80, 'mmwsl.COCO14ClsDataset'),
}
SYNTHETIC = 'bas_resnet18_synthetic-wsss'
NAMES = sorted(REAL) + [SYNTHETIC]


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


def build_model(cfg):
    model = cfg.model.copy()
    model.backbone = model.backbone.copy()
    model.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmwsl'):
        return MODELS.build(model)


def test_metafile_entries():
    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    for name in NAMES:
        assert models[name]['Config'] == f'configs/bas/{name}.py'
        assert models[name]['In Collection'] == 'BAS'
    assert models['bas_resnet50_voc12']['Metadata']['Epochs'] == 10
    assert models['bas_resnet50_voc12']['Metadata']['Batch Size'] == 16


@pytest.mark.parametrize('name', sorted(REAL))
def test_reference_recipe(name):
    cfg = load(name)
    classes, dataset_type = REAL[name]
    model = cfg.model
    assert model.type == 'mmwsl.MultiLabelBAS'
    assert model.backbone.depth == 50
    assert model.backbone.strides == (1, 2, 2, 1)
    assert model.backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert model.tap == 'layer3' and model.late_pool is None
    head = model.head
    assert head.type == 'mmwsl.MultiLabelBASHead'
    assert head.num_classes == classes
    assert model.data_preprocessor.num_classes == classes
    assert model.data_preprocessor.to_onehot
    assert (head.in_channels, head.tap_channels) == (2048, 1024)
    assert head.mid_channels == () and head.bias is False
    assert head.loss.type == 'mmwsl.PositiveNegativeSoftmaxLoss'
    assert head.loss_fg.loss_weight == 0.2
    assert head.loss_area.loss_weight == 1.2
    assert head.loss_bg.masked_value == 1.0
    # 4 x 4 images per iteration, 10 epochs, drop_last.
    assert cfg.train_dataloader.batch_size * 4 == 16
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_dataloader.drop_last
    assert cfg.train_dataloader.dataset.type == dataset_type
    assert cfg.train_cfg.max_epochs == 10
    assert cfg.randomness.seed == 0 and cfg.randomness.diff_rank_seed
    assert cfg.sync_bn == 'torch'
    # PolyOptimizer as it behaves.
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD',
        0.005,
        1e-4,
        1e-4,
    )
    assert cfg.pseudo_label_cfg.cam_key == 'fg_map'
    assert cfg.pseudo_label_cfg.scales == (1.0, 0.5, 1.5, 2.0)
    assert cfg.pseudo_label_cfg.flip


def test_train_pipeline_resizes_square_then_crops():
    cfg = load('bas_resnet50_voc12')
    with DefaultScope.overwrite_default_scope('mmwsl'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline[1:])
    img = np.random.default_rng(0).integers(
        0, 256, (300, 420, 3), dtype=np.uint8
    )
    out = pipeline(dict(img=img, img_shape=img.shape[:2], gt_label=[3]))
    assert tuple(out['inputs'].shape) == (3, 448, 448)
    resize = cfg.train_dataloader.dataset.pipeline[1]
    assert resize.scale == (512, 512) and not resize.keep_ratio
    assert resize.interpolation == 'bicubic'


def test_parameter_groups_voc():
    """Backbone weights at 0.005, h and g at 0.05, all with weight decay
    1e-4; BN shifts not trained (lr 0, no decay)."""
    cfg = load('bas_resnet50_voc12')
    model = build_model(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    seen = set()
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            name = names[id(p)]
            seen.add(name)
            if name.endswith('.bias'):
                assert 'bn' in name or 'downsample.1' in name, name
                assert (group['lr'], group['weight_decay']) == (0.0, 0.0)
            elif name.startswith('head.'):
                assert group['lr'] == pytest.approx(0.05)
                assert group['weight_decay'] == 1e-4
            else:
                assert group['lr'] == pytest.approx(0.005)
                assert group['weight_decay'] == 1e-4
            assert group['momentum'] == 1e-4
    assert seen == set(names.values())
    assert {'head.classifier.0.weight', 'head.generator.weight'} <= seen
    # 53 BN shift tensors, no conv biases (spec quirk 19).
    assert sum(n.endswith('.bias') for n in seen) == 53
    # ResNet-50 trunk + h (2048 x 20) + g (1024 x 20 x 3 x 3).
    assert sum(p.numel() for p in model.parameters()) == 23733312


def test_voc_poly_schedule_stops_at_0772():
    """lr(t) = lr0 (1 - t / 26450)^0.9; 661 iterations x 10 epochs run,
    so the last step's factor is 0.772 (spec 7.2, "LR checks")."""
    cfg = load('bas_resnet50_voc12')
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.005)
    (sched_cfg,) = cfg.param_scheduler
    sched = PARAM_SCHEDULERS.build(dict(sched_cfg, optimizer=opt))
    for _ in range(6609):
        sched.step()
    factor = opt.param_groups[0]['lr'] / 0.005
    assert factor == pytest.approx((1 - 6609 / 26450) ** 0.9, rel=1e-6)
    assert round(factor, 3) == 0.772
    assert 10582 // 16 * 10 == 6610


def test_coco_poly_decays_over_the_run():
    (sched,) = load('bas_resnet50_coco14').param_scheduler
    assert sched.type == 'PolyLR' and sched.power == 0.9
    assert sched.by_epoch and sched.end == 10
    assert sched.convert_to_iter_based


def test_reference_network_shapes():
    """F_tap (B, 1024, 28, 28) and A (B, 20, 28, 28) at 448; inference on
    321 x 500 gives (20, 21, 32) (spec 7.2)."""
    model = build_model(load('bas_resnet50_voc12')).to('meta').eval()
    x = torch.empty(2, 3, 448, 448, device='meta')
    tap, late = model.extract_feat(x)
    out = model(x, mode='tensor')
    assert tap.shape == (2, 1024, 28, 28)
    assert late.shape == (2, 2048, 28, 28)
    assert out['cams'].shape == (2, 20, 28, 28)
    assert out['fg_map'].shape == (2, 20, 28, 28)
    out = model(torch.empty(2, 3, 321, 500, device='meta'), mode='tensor')
    assert out['fg_map'].shape == (2, 20, 21, 32)


def test_synthetic_config_has_the_cam_budget():
    cfg = load(SYNTHETIC)
    cam = Config.fromfile(
        osp.join(ROOT, 'configs', 'wsss', 'cam_resnet18_synthetic-wsss.py')
    )
    for key in ('depth', 'stem_channels', 'base_channels', 'strides'):
        assert cfg.model.backbone[key] == cam.model.backbone[key]
    assert cfg.optim_wrapper.optimizer == cam.optim_wrapper.optimizer
    assert cfg.param_scheduler == cam.param_scheduler
    assert cfg.train_cfg == cam.train_cfg
    assert cfg.train_dataloader.batch_size == cam.train_dataloader.batch_size
    assert cfg.pseudo_label_cfg.scales == cam.pseudo_label_cfg.scales
    assert cfg.pseudo_label_cfg.cam_key == 'fg_map'
    # From scratch: beta 0.5 and the generator at lr 0.01 (README).
    assert cfg.model.head.loss_area.loss_weight == 0.5
    assert cfg.model.head.loss_fg.loss_weight == 0.2
    assert cfg.optim_wrapper.paramwise_cfg == dict(
        custom_keys={'head.generator': dict(lr_mult=0.2)}
    )


@pytest.mark.parametrize('name', NAMES)
def test_loss_and_predict_forwards(name):
    cfg = load(name)
    torch.manual_seed(0)
    model = build_model(cfg)
    if name == SYNTHETIC:
        model.init_weights()
    classes = model.num_classes
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[
            DataSample().set_gt_label(labels)
            for labels in ([0, classes - 1], [1])
        ],
    )
    model.train()
    data_in = model.data_preprocessor(data, True)
    losses = model(**data_in, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_fg', 'loss_bg', 'loss_area'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.head.generator.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        preds = model.val_step(data)
    assert preds[0].pred_score.shape == (classes,)
    assert preds[0].fg_map.shape == (classes, 64, 64)
