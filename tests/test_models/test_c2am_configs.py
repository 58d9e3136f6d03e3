# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM configs (reference recipes and their optimizer quirks), the
localizer + classifier pair, and one training step of the synthetic
config."""

import copy
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmwsl.registry import METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'c2am')


def _cfg(name):
    return Config.fromfile(osp.join(CONFIGS, name))


@pytest.mark.parametrize(
    'name,alpha,lr,batch,epochs,variant',
    [
        ('c2am_resnet50_cub.py', 0.05, 1e-4, 16, 20, 'wsol'),
        ('c2am_resnet50-mocov2_cub.py', 0.75, 1e-4, 16, 20, 'wsol'),
        ('c2am_resnet50_ilsvrc.py', 0.05, 1e-4, 256, 5, 'wsol'),
        ('c2am_resnet50_voc12.py', 0.25, 1e-3, 128, 10, 'wsss'),
        ('c2am_resnet50_custom.py', 0.25, 1e-3, 128, 10, 'custom'),
    ],
)
def test_reference_recipes(name, alpha, lr, batch, epochs, variant):
    cfg = _cfg(name)
    assert cfg.default_scope == 'mmwsl'
    assert cfg.model.head.loss.alpha == alpha
    assert cfg.model.backbone.strides == (1, 2, 2, 1)
    assert cfg.model.head.in_channels == 3072
    assert cfg.optim_wrapper.optimizer.lr == lr
    # Quirk 1: the reference's momentum is its weight decay value.
    assert cfg.optim_wrapper.optimizer.momentum == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler.type == 'PolyLR'
    assert cfg.param_scheduler.power == 0.9
    hooks = [h for h in cfg.custom_hooks if h.type == 'mmwsl.C2AMPolarityHook']
    assert len(hooks) == 1 and hooks[0].variant == variant


def test_schedule_lengths():
    assert _cfg('c2am_resnet50_cub.py').param_scheduler.end == 5994 // 16 * 20
    assert (
        _cfg('c2am_resnet50_ilsvrc.py').param_scheduler.end
        == 1281167 // 256 * 5
    )
    voc = _cfg('c2am_resnet50_voc12.py').param_scheduler
    assert voc.by_epoch and voc.convert_to_iter_based and voc.end == 10


def test_bn_affine_frozen_and_head_at_base_lr():
    cfg = _cfg('c2am_resnet50_cub.py')
    cfg.model.backbone.pop('init_cfg')
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = (
                group['lr'],
                group['weight_decay'],
                group['momentum'],
            )
    for name, param in model.named_parameters():
        lr, wd, momentum = lr_of[id(param)]
        assert momentum == 1e-4
        is_bn = isinstance(
            model.get_submodule(name.rsplit('.', 1)[0]), torch.nn.BatchNorm2d
        )
        if is_bn:
            assert (lr, wd) == (0, 0), name
        else:
            assert (lr, wd) == (1e-4, 1e-4), name
        # Nothing has requires_grad=False: BN gets gradients, unused.
        assert param.requires_grad


def _tiny_pair():
    return MODELS.build(
        dict(
            type='mmwsl.C2AMWithClassifier',
            data_preprocessor=dict(
                mean=[128.0] * 3, std=[64.0] * 3, to_rgb=True
            ),
            localizer=dict(
                type='mmwsl.C2AM',
                backbone=dict(
                    type='mmpretrain.ResNet',
                    depth=18,
                    stem_channels=8,
                    base_channels=8,
                    strides=(1, 2, 2, 1),
                    out_indices=(2, 3),
                ),
                head=dict(type='mmwsl.C2AMHead', in_channels=96),
            ),
            classifier=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(
                    type='mmpretrain.ResNet',
                    depth=18,
                    stem_channels=8,
                    base_channels=8,
                    out_indices=(3,),
                ),
                neck=dict(type='mmpretrain.GlobalAveragePooling'),
                head=dict(
                    type='mmpretrain.LinearClsHead',
                    num_classes=6,
                    in_channels=64,
                ),
            ),
            classifier_input_size=(32, 32),
        )
    )


def test_pair_predict_and_metric(tmp_path):
    torch.manual_seed(0)
    pair = _tiny_pair().eval()
    x = torch.rand(3, 3, 48, 48)
    samples = []
    for label in (0, 1, 2):
        s = DataSample().set_gt_label(label)
        s.set_field(torch.tensor([[4.0, 4.0, 40.0, 40.0]]), 'gt_bboxes')
        s.set_metainfo(dict(img_shape=(48, 48)))
        samples.append(s)
    with torch.no_grad():
        out = pair(x, samples, mode='predict')
        tensors = pair(x, mode='tensor')
    assert tensors['cls_score'].shape == (3, 6)
    assert tensors['ccam'].shape == (3, 1, 3, 3)
    for sample, score in zip(out, tensors['cls_score'].softmax(1)):
        torch.testing.assert_close(sample.pred_score, score)
        assert int(sample.pred_label) == int(score.argmax())
        assert sample.cam.shape == (48, 48)
    metric = METRICS.build(
        dict(
            type='mmwsl.WSOLMetric',
            topk=(1, 5),
            loc_thresholds=[0.5],
            plot=False,
        )
    )
    metric.process(None, [s.to_dict() for s in out])
    results = metric.compute_metrics(metric.results)
    assert 'top1_loc' in results and 'top5_loc' in results
    assert 'MaxBoxAccV2' in results
    with pytest.raises(RuntimeError, match='evaluation-only'):
        pair(x, samples, mode='loss')


def test_pair_checkpoint_tool(tmp_path):
    torch.manual_seed(0)
    pair = _tiny_pair()
    torch.save(
        dict(state_dict=pair.localizer.state_dict()), tmp_path / 'loc.pth'
    )
    torch.save(
        {'module.' + k: v for k, v in pair.classifier.state_dict().items()},
        tmp_path / 'cls.pth',
    )
    spec = importlib.util.spec_from_file_location(
        'c2am_pair_checkpoint',
        osp.join(ROOT, 'tools', 'c2am_pair_checkpoint.py'),
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(
        [
            str(tmp_path / 'loc.pth'),
            str(tmp_path / 'cls.pth'),
            str(tmp_path / 'pair.pth'),
        ]
    )
    other = _tiny_pair()
    state = torch.load(tmp_path / 'pair.pth', weights_only=True)
    other.load_state_dict(state['state_dict'], strict=True)
    for k, v in pair.state_dict().items():
        torch.testing.assert_close(other.state_dict()[k], v)


def test_pair_config_builds():
    cfg = _cfg('c2am_resnet50_cub_pair-classifier.py')
    model = MODELS.build(cfg.model)
    assert model.classifier.head.num_classes == 200
    assert cfg.test_evaluator.pixel_offset == 0
    assert cfg.test_evaluator.strict_iou and cfg.test_evaluator.class_balanced


def test_synthetic_config_train_step():
    cfg = _cfg('c2am_resnet18_synthetic.py')
    # Same backbone and budget as the CAM baseline.
    cam = Config.fromfile(
        osp.join(ROOT, 'configs', 'cam', 'cam_resnet18_synthetic.py')
    )
    for key in ('depth', 'stem_channels', 'base_channels', 'strides'):
        assert cfg.model.backbone[key] == cam.model.backbone[key]
    assert cfg.train_cfg.max_epochs == cam.train_cfg.max_epochs
    assert cfg.train_dataloader.batch_size == cam.train_dataloader.batch_size
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    data = dict(
        inputs=[
            torch.randint(0, 255, (3, 128, 128), dtype=torch.uint8)
            for _ in range(4)
        ],
        data_samples=[DataSample() for _ in range(4)],
    )
    before = model.head.activation_head.weight.detach().clone()
    log = model.train_step(data, wrapper)
    assert set(log) == {'loss', 'loss_fg_fg', 'loss_bg_bg', 'loss_bg_fg'}
    assert not torch.equal(before, model.head.activation_head.weight)
    assert model.head.last_train_map.shape == (4, 1, 8, 8)
