# Copyright (c) mmwsl contributors. All rights reserved.
"""configs/erasing ACoL/ADL: recipes, every model in loss and predict mode,
optimiser groups, and short real training + WSOLMetric evaluation runs of
the synthetic configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG_DIR = osp.join(ROOT, 'configs', 'erasing')
RECIPES = [f'{m}_{a}_{d}' for m in ('acol', 'adl')
           for a in ('vgg16', 'resnet50') for d in ('cub', 'ilsvrc')]
SYNTHETIC = ['acol_resnet18_synthetic', 'adl_resnet18_synthetic']
ADL_POSITIONS = {
    'vgg16': ['features.9', 'features.12', 'features.16'],
    'resnet50': [('layer3', 0), ('layer4', 0), ('layer4', 2)],
}


def _metafile():
    import yaml

    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    return {m['Name']: m for m in models}


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


def _model_cfg(cfg):
    """The config's model without pretrained weights."""
    model = cfg.model.copy()
    backbone = model.backbone = model.backbone.copy()
    backbone.pop('init_cfg', None)
    if 'backbone' in backbone:
        backbone.backbone = backbone.backbone.copy()
        backbone.backbone.pop('init_cfg', None)
    return model


def test_config_files_and_metafile():
    names = {osp.splitext(osp.basename(p))[0]
             for p in glob.glob(osp.join(CONFIG_DIR, 'a[cd][ol]*.py'))}
    assert set(RECIPES) | set(SYNTHETIC) <= names
    meta = _metafile()
    for name in RECIPES + SYNTHETIC:
        assert meta[name]['Config'] == f'configs/erasing/{name}.py'
        assert meta[name]['In Collection'] in ('ACoL', 'ADL')
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        assert 'configs/erasing/metafile.yml' in f.read()


@pytest.mark.parametrize('name', RECIPES)
def test_recipe(name):
    method, arch, data = name.split('_')
    cfg = _cfg(name)
    k = 200 if data == 'cub' else 1000
    model = cfg.model
    assert model.type == 'mmwsl.WSOLClassifier'
    assert model.head.num_classes == model.data_preprocessor.num_classes == k
    assert model.test_cfg == dict(resize_mode='bicubic',
                                  normalize_first=False)
    if method == 'acol':
        head = model.head
        assert head.type == 'mmwsl.ACoLHead'
        assert head.delta == 0.7 and head.mid_channels == 1024
        assert head.feat_avg_pool is (arch == 'vgg16')
        assert head.in_channels == (512 if arch == 'vgg16' else 2048)
        init = cfg.model.backbone.init_cfg
    else:
        backbone = model.backbone
        assert backbone.type == 'mmwsl.ADLBackbone'
        assert (backbone.drop_rate, backbone.gamma) == (0.75, 0.9)
        assert list(backbone.insert_after) == ADL_POSITIONS[arch]
        assert model.head.type == 'mmwsl.CAMHead'
        assert model.head.in_channels == (1024 if arch == 'vgg16' else 2048)
        init = backbone.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    # wsolevaluation schedule and data.
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.nesterov,
            opt.weight_decay) == ('SGD', 0.01, 0.9, True, 1e-4)
    assert cfg.param_scheduler == [
        dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.1)]
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.auto_scale_lr.base_batch_size == 64
    train = cfg.train_dataloader.dataset.pipeline
    assert train[1].scale == (256, 256) and train[2].crop_size == 224
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        steps = loader.dataset.pipeline
        assert steps[1].type == 'mmwsl.WSOLResize'
        assert steps[1].scale == (224, 224)
        assert 'mmwsl.WSOLCenterCrop' not in [s.type for s in steps]
    assert cfg.test_dataloader.dataset.split == 'test'


@pytest.mark.parametrize('name', RECIPES)
def test_model_loss_and_predict(name):
    """Full-size model, random weights, on two 64x64 images."""
    cfg = _cfg(name)
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(cfg))
    params = sum(p.numel() for p in model.parameters())
    assert params == _metafile()[name]['Metadata']['Parameters']
    k = cfg.model.head.num_classes
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64),
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=[DataSample().set_gt_label(i)
                              for i in (0, k - 1)])
    model.train()
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    keys = ({'loss_cls_a', 'loss_cls_b'} if name.startswith('acol')
            else {'loss'})
    assert set(losses) >= keys
    assert all(torch.isfinite(losses[key]) for key in keys)
    model.eval()
    with torch.no_grad():
        samples = model(**model.data_preprocessor(data, False),
                        mode='predict')
    assert [s.cam_label for s in samples] == [0, k - 1]
    for s in samples:
        assert s.cam.shape == (64, 64)
        assert float(s.cam.min()) == 0. and float(s.cam.max()) == 1.
        assert s.pred_score.shape == (k, )


@pytest.mark.parametrize('name', ['acol_vgg16_cub', 'adl_resnet50_cub'])
def test_classifier_lr_groups(name):
    """New layers (VGG: everything outside the features; ResNet: layer4
    and the head) learn at 10x."""
    cfg = _cfg(name)
    model = MODELS.build(_model_cfg(cfg))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    by_id = {id(p): g['lr'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    for pname, p in model.named_parameters():
        fast = pname.startswith(('head.', 'neck.')) or 'layer4.' in pname
        assert by_id[id(p)] == pytest.approx(0.1 if fast else 0.01), pname


@pytest.mark.parametrize('name', SYNTHETIC)
def test_synthetic_matches_cam_budget(name):
    cfg = _cfg(name)
    cam = Config.fromfile(osp.join(ROOT, 'configs', 'cam',
                                   'cam_resnet18_synthetic.py'))
    backbone = cfg.model.backbone
    if name.startswith('adl'):
        backbone = backbone.backbone
        assert list(cfg.model.backbone.insert_after) == [
            ('layer3', 0), ('layer4', 0), ('layer4', 1)]
        assert cfg.model.head == cam.model.head
    else:
        assert cfg.model.head.type == 'mmwsl.ACoLHead'
        assert cfg.model.head.delta == 0.7
    assert backbone == cam.model.backbone
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                'train_dataloader', 'test_dataloader', 'test_evaluator'):
        assert cfg[key] == cam[key], key


def _tiny_run_cfg(name, tmp_path):
    cfg = _cfg(name)
    data = dict(data_root=str(tmp_path / 'data'), image_size=64,
                num_classes=3, num_samples=dict(train=24, test=8))
    for loader in ('train_dataloader', 'val_dataloader',
                   'test_dataloader'):
        cfg[loader].dataset.update(data)
        cfg[loader].num_workers = 0
        cfg[loader].batch_size = 8
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='mmwsl.LoadImageWithCheck'),
        dict(type='mmwsl.LoadWSOLMask'),
        dict(type='mmwsl.PackWSOLInputs'),
    ]
    cfg.model.data_preprocessor.num_classes = 3
    cfg.model.head.num_classes = 3
    cfg.model.backbone.update(
        dict(backbone=dict(stem_channels=8, base_channels=8))
        if name.startswith('adl') else
        dict(stem_channels=8, base_channels=8))
    cfg.model.head.in_channels = 64
    if name.startswith('acol'):
        cfg.model.head.mid_channels = 16
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'{name}_{tmp_path.name}'
    cfg.launcher = 'none'
    return cfg


@pytest.mark.parametrize('name', SYNTHETIC)
def test_train_and_evaluate_with_runner(name, tmp_path):
    """A few real iterations, then WSOLMetric on the test split."""
    cfg = _tiny_run_cfg(name, tmp_path)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    seen = []
    orig = model.loss

    def spy(inputs, data_samples):
        losses = orig(inputs, data_samples)
        seen.append({k: float(v) for k, v in losses.items()
                     if k.startswith('loss')})
        return losses

    model.loss = spy
    if name.startswith('adl'):
        calls = []
        for adl in model.backbone.adl_layers.values():
            adl.register_forward_hook(
                lambda m, i, o: calls.append(m.training))
    before = next(model.head.parameters()).detach().clone()
    runner.train()
    assert len(seen) == 6  # 2 epochs x 3 batches
    keys = ({'loss_cls_a', 'loss_cls_b'} if name.startswith('acol')
            else {'loss'})
    assert all(keys <= set(s) for s in seen)
    assert not torch.equal(before, next(model.head.parameters()))
    if name.startswith('adl'):
        # 3 ADL layers per training forward; eval forwards (validation)
        # pass through them as identities.
        assert calls[:18] == [True] * 18
        assert False in calls[18:]
    metrics = runner.test()
    for key in ('wsol/MaxBoxAccV2', 'wsol/PxAP', 'wsol/gt_known',
                'wsol/top1_loc', 'wsol/top1_cls'):
        assert 0. <= metrics[key] <= 100., key
    assert osp.exists(osp.join(cfg.work_dir, 'epoch_2.pth'))
