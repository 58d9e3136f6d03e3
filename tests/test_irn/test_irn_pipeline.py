# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN end to end on a miniature dataset on disk: seeds -> IR labels ->
a few training iterations with a real Runner -> random walk -> the
evaluation tool reads the pseudo-masks."""

import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmwsl.apis.ir_label import crf_label_inference, make_ir_label
from mmwsl.apis.pseudo_label import PseudoLabelWriter
from mmwsl.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/irn/irn_resnet18_synthetic-wsss.py')


def load_tool(relpath):
    path = osp.join(REPO, 'tools', relpath)
    name = 'mmwsl_tool_' + relpath.replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ir_label_rule_and_crf():
    cams = np.zeros((2, 4, 6), np.float32)
    cams[0, :, :2] = 0.5  # confident class 3 (key 2)
    cams[0, :, 2] = 0.2  # between 0.17 and 0.30: unknown
    cams[1, :, 4:] = 0.9  # confident class 1 (key 0)
    label = make_ir_label(cams, [2, 0], crf=None)
    expect = np.array([[3, 3, 255, 0, 1, 1]] * 4, np.uint8)
    np.testing.assert_array_equal(label, expect)
    with pytest.raises(ValueError, match='must exceed'):
        make_ir_label(cams, [2, 0], fg_threshold=0.1, crf=None)
    # The label CRF keeps a map that follows the image's colour edges and
    # repairs a stray pixel inside a uniform region.
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 200
    lab = np.zeros((20, 20), np.int64)
    lab[:, 10:] = 1
    noisy = lab.copy()
    noisy[5, 3] = 1
    out = crf_label_inference(img, noisy, 2)
    np.testing.assert_array_equal(out, lab)


def make_data(root, n=6, size=64):
    """Images with coloured squares, GT masks and blurred seeds."""
    rng = np.random.default_rng(0)
    img_dir, gt_dir = root / 'images', root / 'gt'
    img_dir.mkdir()
    gt_dir.mkdir()
    colours = [(40, 200, 40), (200, 40, 200)]
    writer = PseudoLabelWriter(
        str(root / 'seeds'),
        dict(test='irn'),
        ['a', 'b'],
        str(img_dir),
        '.png',
        label_cfg=None,
        save_cams=True,
        info=dict(gt_dir=str(gt_dir)),
    )
    writer.prepare()
    names = []
    for i in range(n):
        img = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
        gt = np.zeros((size, size), np.uint8)
        keys = [i % 2] if i < 4 else [0, 1]
        cams = []
        for j, k in enumerate(keys):
            y0 = 8 + 20 * j + (i % 3) * 4
            x0 = 6 + 24 * j + i
            img[y0 : y0 + 22, x0 : x0 + 22] = colours[k]
            gt[y0 : y0 + 22, x0 : x0 + 22] = k + 1
            m = (gt == k + 1).astype(np.float32)
            m = cv2.GaussianBlur(m, (0, 0), 5) * (1 + 0.1 * j)
            cams.append(m)
        name = f'{i:03d}'
        cv2.imwrite(str(img_dir / f'{name}.png'), img)
        cv2.imwrite(str(gt_dir / f'{name}.png'), gt)
        cams = np.stack(cams)
        writer.write(name, cams / cams.max((1, 2), keepdims=True), keys)
        names.append(name)
    assert writer.finalize(names) == []
    return names


def test_seeds_to_pseudo_masks(tmp_path):
    register_all_modules(init_default_scope=False)
    names = make_data(tmp_path)
    seeds, ir = str(tmp_path / 'seeds'), str(tmp_path / 'ir')
    make_ir = load_tool('irn/make_ir_labels.py').main
    make_ir([seeds, '--out', ir, '--no-progress'])
    for name in names:
        lab = cv2.imread(osp.join(ir, 'ann_dir', name + '.png'), 0)
        gt = cv2.imread(str(tmp_path / 'gt' / (name + '.png')), 0)
        assert set(np.unique(lab)) <= {0, 1, 2, 255}
        assert (lab == 0).any() and ((lab == 1) | (lab == 2)).any()
        # The CRF snaps the confident regions to the squares.
        known = lab != 255
        assert (lab[known] == gt[known]).mean() > 0.95
    with open(osp.join(ir, 'splits', 'train.txt')) as f:
        assert f.read().split() == names
    # A second run finds everything done; other settings are refused.
    make_ir([seeds, '--out', ir, '--no-progress'])
    with pytest.raises(FileExistsError, match='other settings'):
        make_ir([seeds, '--out', ir, '--no-crf', '--no-progress'])

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.crop_size = (64, 64)
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.model.test_pad_size = (64, 64)
    cfg.model.backbone.init_cfg = None
    # (else the untrained backbone's init zeroes the residual BN weights)
    cfg.model.backbone.zero_init_residual = False
    cfg.train_dataloader.batch_size = 3
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    ds = cfg.train_dataloader.dataset
    ds.data_prefix = dict(
        img_path=str(tmp_path / 'images'), seg_map_path=ir + '/ann_dir'
    )
    ds.ann_file = ir + '/splits/train.txt'
    ds.pipeline[4].crop_size = (64, 64)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler[0].end = 1
    cfg.default_hooks.logger.interval = 1
    runner = Runner.from_cfg(cfg)
    before = {
        k: v.clone() for k, v in runner.model.state_dict().items()
    }
    runner.train()
    after = runner.model.state_dict()
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    assert changed and all(k.startswith('head.') for k in changed)
    assert any('edge' in k for k in changed)
    assert any('dp_' in k for k in changed)
    ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    logs = open(
        osp.join(cfg.work_dir, runner.timestamp, f'{runner.timestamp}.log')
    ).read()
    assert 'loss_aff_neg' in logs and 'loss_dp_fg' in logs

    cfg_file = str(tmp_path / 'irn.py')
    cfg.dump(cfg_file)
    out = str(tmp_path / 'rw')
    load_tool('irn/random_walk.py').main(
        [cfg_file, ckpt, '--cams', seeds, '--out', out, '--no-progress',
         '--device', 'cpu']
    )
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['fingerprint']['walk'] == dict(
        power=1.5, radius=5, beta=10, exp_times=8, scale=1.0
    )
    assert meta['fingerprint']['label_cfg']['bg_threshold'] == 0.22
    for name in names:
        lab = cv2.imread(osp.join(out, 'ann_dir', name + '.png'), 0)
        assert lab.shape == (64, 64) and lab.max() <= 2

    res = load_tool('analysis_tools/eval_pseudo_labels.py').main(
        [out, '--mode', 'png', '--out-dir', str(tmp_path / 'ev')]
    )
    assert res['num_images'] == len(names)
    # The tool scores exactly the written PNGs (nanmean IoU over classes).
    conf = np.zeros((3, 3), np.int64)
    for name in names:
        lab = cv2.imread(osp.join(out, 'ann_dir', name + '.png'), 0)
        gt = cv2.imread(str(tmp_path / 'gt' / (name + '.png')), 0)
        conf += np.bincount(
            gt.ravel() * 3 + lab.ravel(), minlength=9
        ).reshape(3, 3)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.diag(conf) / union
    assert res['best']['miou_nanmean'] == pytest.approx(
        100 * np.nanmean(iou), abs=1e-6
    )
    assert osp.isfile(tmp_path / 'ev' / 'results.json')

    # --scale 2: the IRN sees the 128 px enlargement (a 32 x 32 grid), the
    # labels come back at the image size.
    out2 = str(tmp_path / 'rw2')
    load_tool('irn/random_walk.py').main(
        [cfg_file, ckpt, '--cams', seeds, '--out', out2, '--no-progress',
         '--device', 'cpu', '--scale', '2']
    )
    with open(osp.join(out2, 'meta.json')) as f:
        assert json.load(f)['fingerprint']['walk']['scale'] == 2.0
    for name in names:
        lab = cv2.imread(osp.join(out2, 'ann_dir', name + '.png'), 0)
        assert lab.shape == (64, 64) and lab.max() <= 2
