# Copyright (c) mmwsl contributors. All rights reserved.
"""The synthetic "-pre" configs start their backbone from the synthetic WSOL
CAM classifier and train it at 0.1x the lr of the new layers."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import save_checkpoint

from mmwsl.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRE_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '*', '*-pre_synthetic-wsss.py')))
WSOL_CONFIG = osp.join(REPO, 'configs', 'cam', 'cam_resnet18_synthetic.py')


def _build(cfg):
    with DefaultScope.overwrite_default_scope('mmwsl'):
        return MODELS.build(cfg.model)


def test_pre_configs_exist():
    names = {osp.basename(p) for p in PRE_CONFIGS}
    assert {
        'cam_resnet18-pre_synthetic-wsss.py',
        'hfpl_cam_resnet18-pre_synthetic-wsss.py',
        'hfpl-multinomial_cam_resnet18-pre_synthetic-wsss.py',
        'bas_resnet18-d8-pre_synthetic-wsss.py',
        'cam_resnet18-d8-pre_synthetic-wsss.py',
    } <= names


@pytest.fixture(scope='module')
def wsol_checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    model = _build(Config.fromfile(WSOL_CONFIG))
    path = str(tmp_path_factory.mktemp('wsol') / 'epoch_8.pth')
    save_checkpoint(model.state_dict(), path)
    return model.state_dict(), path


@pytest.mark.parametrize(
    'path', PRE_CONFIGS, ids=[osp.basename(p) for p in PRE_CONFIGS])
def test_backbone_starts_from_wsol_classifier(path, wsol_checkpoint):
    state, ckpt = wsol_checkpoint
    cfg = Config.fromfile(path)
    assert cfg.pretrained == 'work_dirs/cam_resnet18_synthetic/epoch_8.pth'
    assert cfg.model.backbone.init_cfg.checkpoint == cfg.pretrained
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    torch.manual_seed(0)
    model = _build(cfg)
    model.init_weights()
    backbone = {f'backbone.{k}': v
                for k, v in model.backbone.state_dict().items()}
    assert len(backbone) > 50
    for key, value in backbone.items():
        torch.testing.assert_close(value, state[key], msg=key)

    # Backbone at 0.1x the lr of the new layers.
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[id(param)] = group['lr']
    for name, param in model.named_parameters():
        expected = base_lr * (0.1 if name.startswith('backbone.') else 1.0)
        if name.startswith('head.generator'):
            expected = base_lr * cfg.optim_wrapper.paramwise_cfg.custom_keys[
                'head.generator']['lr_mult']
        assert lrs[id(param)] == pytest.approx(expected), name


def test_missing_pretrained_checkpoint_is_named(tmp_path):
    cfg = Config.fromfile(PRE_CONFIGS[0])
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'none.pth')
    model = _build(cfg)
    with pytest.raises(FileNotFoundError, match='none.pth'):
        model.init_weights()


def test_bas_pre_has_the_budget_of_its_cam_baseline():
    bas = Config.fromfile(osp.join(
        REPO, 'configs', 'bas', 'bas_resnet18-d8-pre_synthetic-wsss.py'))
    cam = Config.fromfile(osp.join(
        REPO, 'configs', 'wsss', 'cam_resnet18-d8-pre_synthetic-wsss.py'))
    keys = ('strides', 'dilations', 'depth', 'base_channels', 'init_cfg')
    for key in keys:
        assert bas.model.backbone[key] == cam.model.backbone[key], key
    assert bas.model.backbone.strides == (1, 2, 1, 1)
    for key in ('train_cfg', 'param_scheduler', 'train_dataloader'):
        assert bas.to_dict()[key] == cam.to_dict()[key], key
    assert bas.optim_wrapper.optimizer == cam.optim_wrapper.optimizer
    assert bas.pseudo_label_cfg.output_stride == 8
    assert cam.pseudo_label_cfg.output_stride == 8
    assert bas.pseudo_label_cfg.cam_key == 'fg_map'
    assert bas.model.head.loss_area.loss_weight == 0.3
    assert bas.model.head.loss_fg.loss_weight == 0.2


def test_check_pretrained_checkpoints(tmp_path):
    from mmwsl.utils.launch import check_pretrained_checkpoints
    cfg = Config.fromfile(PRE_CONFIGS[0])
    with pytest.raises(FileNotFoundError,
                       match='model.backbone.init_cfg.checkpoint'):
        check_pretrained_checkpoints(
            Config(dict(model=dict(backbone=dict(init_cfg=dict(
                type='Pretrained', checkpoint=str(tmp_path / 'x.pth')))))))
    # Present files, URLs and scheme paths pass.
    (tmp_path / 'x.pth').write_bytes(b'')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'x.pth')
    check_pretrained_checkpoints(cfg)
    cfg.model.backbone.init_cfg.checkpoint = 'torchvision://resnet50'
    check_pretrained_checkpoints(cfg)
    # Inits inside lists are found too.
    with pytest.raises(FileNotFoundError, match=r'model.init_cfg\[1\]'):
        check_pretrained_checkpoints(Config(dict(model=dict(init_cfg=[
            dict(type='Kaiming'),
            dict(type='Pretrained', checkpoint='absent/x.pth')]))))
