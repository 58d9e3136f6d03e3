# Copyright (c) mmwsl contributors. All rights reserved.
"""configs/bas: recipes (spec sections 2.6, 3, 4.1), models, optimiser
groups and learning-rate schedules (spec section 7.2, "LR checks")."""

import glob
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'bas')
ARCHS = ('vgg16', 'resnet50', 'mobilenetv1', 'inceptionv3')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'bas_*.py')))

# (alpha, beta, masked value, top-k of the map, CAM threshold), spec 2.4,
# 2.6 and 4.1 (BAS-Extension).
RECIPES = {
    'bas_vgg16_cub': (0.0, 0.9, 0.0, 80, 0.1),
    'bas_resnet50_cub': (0.5, 1.5, 1.0, 200, 0.1),
    'bas_mobilenetv1_cub': (0.5, 1.9, 1.0, 80, 0.1),
    'bas_inceptionv3_cub': (0.5, 1.0, 1.0, 200, 0.1),
    'bas_vgg16_ilsvrc': (0.05, 1.0, 0.0, 1, 0.45),
    'bas_resnet50_ilsvrc': (1.0, 2.0, 1.0, 1, 0.25),
    'bas_mobilenetv1_ilsvrc': (0.5, 1.5, 1.0, 1, 0.5),
    'bas_inceptionv3_ilsvrc': (1.0, 2.5, 1.0, 1, 0.25),
    'bas_resnet50_openimages': (0.5, 1.5, 1.0, 1, None),
}
# (classes, per-GPU batch, epochs, lr milestones, reference global batch)
DATASETS = {
    'cub': (200, 32, 120, [80], 32),
    'ilsvrc': (1000, 32, 9, [3, 6], 128),
    'openimages': (100, 64, 120, [20, 40, 60, 80, 100], 64),
}


def _metafile():
    import yaml

    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}


METAFILE = _metafile()


def _name(path):
    return osp.splitext(osp.basename(path))[0]


def _model_cfg(cfg):
    """The config's model without pretrained initialisation."""
    model = cfg.model.copy()
    model.backbone = model.backbone.copy()
    model.backbone.pop('init_cfg', None)
    return model


def test_all_configs_present():
    names = {_name(p) for p in CONFIGS}
    # WSSS configs: tests/test_models/test_bas_wsss_configs.py.
    wsss = {
        'bas_resnet50_voc12',
        'bas_resnet50_coco14',
        'bas_resnet18_synthetic-wsss',
        'bas_resnet18-d8-pre_synthetic-wsss',
    }
    assert names == set(RECIPES) | {'bas_resnet18_synthetic'} | wsss
    assert set(METAFILE) == names
    for name, entry in METAFILE.items():
        assert entry['Config'] == f'configs/bas/{name}.py'


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))
    alpha, beta, masked, topk, threshold = RECIPES[name]
    num_classes, batch, epochs, milestones, ref_batch = DATASETS[
        name.split('_')[-1]
    ]
    arch = name.split('_')[1]
    if arch == 'vgg16' and name.endswith('ilsvrc'):
        batch, ref_batch = 64, 256
    head = cfg.model.head
    assert cfg.model.type == 'mmwsl.BAS'
    assert head.num_classes == num_classes
    assert cfg.model.data_preprocessor.num_classes == num_classes
    assert head.loss_fg.loss_weight == alpha
    assert head.loss_area.loss_weight == beta
    assert head.loss_bg.masked_value == masked
    assert head.cam_topk == topk
    assert head.final_relu is False
    assert head.mid_channels == (1024, 1024)
    assert cfg.model.test_cfg == dict(
        resize_mode='bilinear', normalize_first=True, eps=1e-5
    )
    if threshold is not None:
        assert cfg.val_evaluator.loc_thresholds == [threshold]
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == ref_batch
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler == [
        dict(
            type='MultiStepLR', by_epoch=True, milestones=milestones, gamma=0.1
        )
    ]
    optimizer = cfg.optim_wrapper.optimizer
    assert (
        optimizer.type,
        optimizer.lr,
        optimizer.momentum,
        optimizer.nesterov,
        optimizer.weight_decay,
    ) == ('SGD', 1e-3, 0.9, True, 5e-4)
    # 256x256 resize, random 224 crop, horizontal flip.
    steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert steps[1:4] == [
        'mmwsl.WSOLResize',
        'mmwsl.WSOLRandomCrop',
        'mmwsl.WSOLRandomFlip',
    ]
    assert cfg.train_dataloader.dataset.pipeline[1].scale == (256, 256)
    assert cfg.train_dataloader.dataset.pipeline[2].crop_size == 224
    # Pretrained backbones from mmpretrain checkpoints (none for
    # MobileNetV1), loaded with the 'backbone.' prefix.
    init = cfg.model.backbone.get('init_cfg')
    if arch == 'mobilenetv1':
        assert init is None
    else:
        assert init.type == 'Pretrained' and init.prefix == 'backbone.'
        assert init.checkpoint.startswith('https://download.openmmlab.com/')


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_model_shapes(name):
    """Build each model (no checkpoint) and propagate a 224 input on the
    meta device: 28x28 foreground maps and 14x14 class maps."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))
    model = MODELS.build(_model_cfg(cfg)).to('meta').eval()
    out = model(torch.empty(1, 3, 224, 224, device='meta'), mode='tensor')
    k = cfg.model.head.num_classes
    params = sum(p.numel() for p in model.parameters())
    assert params == METAFILE[name]['Metadata']['Parameters']
    assert out['cls_score'].shape == (1, k)
    assert out['fg_map'].shape == (1, k, 28, 28)
    assert out['cams'].shape == (1, k, 14, 14)


def _lr_groups(model, optimizer):
    """lr of each parameter (by name) in the optimizer."""
    by_id = {
        id(p): group['lr']
        for group in optimizer.param_groups
        for p in group['params']
    }
    return {n: by_id[id(p)] for n, p in model.named_parameters()}


def test_parameter_groups_cub():
    """Groups [w, b, cls-w, cls-b] = [1e-3, 2e-3, 1e-2, 2e-2]; every group
    with weight decay 5e-4 and Nesterov momentum 0.9."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'bas_resnet50_cub.py'))
    model = MODELS.build(_model_cfg(cfg))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = _lr_groups(model, wrapper.optimizer)
    assert len(lrs) == len(list(model.parameters()))
    for name, lr in lrs.items():
        if name.startswith('head.'):
            expected = 2e-2 if name.endswith('bias') else 1e-2
        else:
            expected = 2e-3 if name.endswith('bias') else 1e-3
        assert lr == pytest.approx(expected), name
    assert lrs['backbone.bn1.bias'] == pytest.approx(2e-3)
    assert lrs['head.generator.weight'] == pytest.approx(1e-2)
    for group in wrapper.optimizer.param_groups:
        assert group['weight_decay'] == pytest.approx(5e-4)
        assert group['nesterov'] and group['momentum'] == 0.9


def _tiny_bas():
    """A small BAS model with the same parameter names in its head."""
    return MODELS.build(
        dict(
            type='mmwsl.BAS',
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                base_channels=8,
                stem_channels=8,
                strides=(1, 2, 1, 1),
            ),
            tap='layer3',
            late_pool=2,
            head=dict(
                type='mmwsl.BASHead',
                num_classes=3,
                in_channels=64,
                tap_channels=32,
                mid_channels=(8, 8),
            ),
        )
    )


def _epoch_lrs(config, epochs):
    """[w, b, cls-w, cls-b] learning rates at the start of each epoch."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    model = _tiny_bas()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
        for s in cfg.param_scheduler
    ]
    names = (
        'backbone.conv1.weight',
        'backbone.bn1.bias',
        'head.classifier.0.weight',
        'head.generator.bias',
    )
    lrs = []
    for _ in range(epochs):
        by_name = _lr_groups(model, wrapper.optimizer)
        lrs.append([by_name[n] for n in names])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_lr_schedule_cub():
    lrs = _epoch_lrs('bas_resnet50_cub.py', 120)
    for epoch in range(120):
        scale = 1.0 if epoch < 80 else 0.1
        assert lrs[epoch] == pytest.approx(
            [scale * v for v in (1e-3, 2e-3, 1e-2, 2e-2)]
        ), epoch


def test_lr_schedule_ilsvrc():
    lrs = _epoch_lrs('bas_resnet50_ilsvrc.py', 9)
    for epoch in range(9):
        scale = 0.1 ** (epoch // 3)
        assert lrs[epoch] == pytest.approx(
            [scale * v for v in (1e-3, 2e-3, 1e-2, 2e-2)]
        ), epoch


def test_lr_schedule_openimages():
    lrs = _epoch_lrs('bas_resnet50_openimages.py', 120)
    for epoch in range(120):
        scale = 0.1 ** (epoch // 20)
        assert lrs[epoch] == pytest.approx(
            [scale * v for v in (1e-3, 2e-3, 1e-2, 2e-2)]
        ), epoch


def test_synthetic_config_train_step():
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'bas_resnet18_synthetic.py'))
    cam_cfg = Config.fromfile(
        osp.join(CONFIG_DIR, '..', 'cam', 'cam_resnet18_synthetic.py')
    )
    # Same backbone widths and schedule as the CAM baseline.
    for key in ('depth', 'stem_channels', 'base_channels'):
        assert cfg.model.backbone[key] == cam_cfg.model.backbone[key]
    assert cfg.optim_wrapper.optimizer == cam_cfg.optim_wrapper.optimizer
    # Only the generator trains at another lr (0.01).
    assert cfg.optim_wrapper.paramwise_cfg == dict(
        custom_keys={'head.generator': dict(lr_mult=0.2)}
    )
    assert cfg.model.head.loss_area.loss_weight == 0.5
    assert cfg.param_scheduler == cam_cfg.param_scheduler
    assert cfg.train_cfg == cam_cfg.train_cfg

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in (0, 3)],
    )
    log = model.train_step(data, wrapper)
    assert {
        'loss_cls',
        'loss_fg',
        'loss_bg',
        'loss_area',
        'accuracy_top-1',
    } <= set(log)
    model.eval()
    with torch.no_grad():
        samples = model.val_step(data)
    assert samples[0].cam.shape == (128, 128)
    assert 0 <= float(samples[0].cam.min()) <= float(samples[0].cam.max()) <= 1


def _benchmark_tool():
    path = osp.join(
        CONFIG_DIR, '..', '..', 'tools', 'analysis_tools', 'benchmark_train.py'
    )
    spec = importlib.util.spec_from_file_location('benchmark_train', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_train_tool(tmp_path):
    tool = _benchmark_tool()
    config = osp.join(CONFIG_DIR, 'bas_resnet18_synthetic.py')
    assert tool.input_size_of(Config.fromfile(config)) == 128
    out = tmp_path / 'bench.json'
    result = tool.main(
        [
            config,
            '--batch-size',
            '2',
            '--input-size',
            '64',
            '--iters',
            '1',
            '--warmup',
            '0',
            '--device',
            'cpu',
            '--out',
            str(out),
        ]
    )
    assert result['images_per_s'] > 0
    assert result['peak_memory_mib'] >= result['rss_after_build_mib'] > 0
    assert result['memory_kind'] == 'peak RSS of the process'
    assert out.exists()
    cub = Config.fromfile(osp.join(CONFIG_DIR, 'bas_resnet50_cub.py'))
    assert tool.input_size_of(cub) == 224
    with pytest.raises(SystemExit, match='--amp needs a GPU'):
        tool.main([config, '--device', 'cpu', '--amp'])
