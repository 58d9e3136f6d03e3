# Copyright (c) mmwsl contributors. All rights reserved.
"""PSL: prohibitive online labels (spec T9) and PSLEncoderDecoder trained
with a real MMEngine Runner on the synthetic PSL config."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.structures import SegDataSample

from mmwsl.datasets.synthetic import generate_synthetic_dataset
from mmwsl.models.segmentors import prohibitive_label, prohibitive_weights

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'erasing',
                  'psl_deeplabv3_r18-d8_1xb8-400_synthetic-wsss.py')


def test_t9_prohibitive_label():
    # classes [bg, dog, cat, person]; image labels {dog}; nu_dog = 0.6
    scores = torch.tensor([[0.6, 0.9, 0.8]])
    labels = torch.tensor([[1, 0, 0]])
    w = prohibitive_weights(scores, labels)
    assert w[0].tolist() == pytest.approx([1, 0.6, 0, 0])
    probs = torch.tensor([[.3, .6, .05, .05], [.4, .5, .1, 0],
                          [.1, .2, .7, 0]]).T.reshape(1, 4, 1, 3)
    out = prohibitive_label(probs, scores, labels)
    assert out.tolist() == [[[1, 0, 1]]]  # dog, bg, dog (cat prohibited)
    # without the prohibition the third pixel would be cat
    assert probs.argmax(1).tolist() == [[[1, 1, 2]]]


def _data(tmp_path):
    root = str(tmp_path / 'syn')
    generate_synthetic_dataset(root, num_samples=dict(train=4, test=2),
                               image_size=32, multi_label=True)
    pl = tmp_path / 'pl'
    os.makedirs(pl / 'ann_dir')
    os.makedirs(pl / 'splits')
    records = json.load(open(osp.join(root, 'train.json')))
    names = []
    for r in records:
        name = osp.splitext(osp.basename(r['img']))[0]
        names.append(name)
        # AE labels: the GT with a 255 border (some pixels ignored)
        shutil.copy(osp.join(root, r['mask']), pl / 'ann_dir' /
                    f'{name}.png')
    (pl / 'splits' / 'train.txt').write_text(''.join(n + '\n'
                                                     for n in names))
    (pl / 'image_labels.json').write_text(json.dumps(
        {n: r['labels'] for n, r in zip(names, records)}))
    return root, str(pl)


def test_psl_trains_with_runner(tmp_path):
    root, pl = _data(tmp_path)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.data_preprocessor.size = (32, 32)
    ds = cfg.train_dataloader.dataset
    ds.data_prefix = dict(img_path=root + '/images/train',
                          seg_map_path=pl + '/ann_dir')
    ds.ann_file = pl + '/splits/train.txt'
    ds.pipeline[2].label_file = pl + '/image_labels.json'
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.param_scheduler = []
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=100)
    cfg.experiment_name = f'psl_test_{os.getpid()}'
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert type(model).__name__ == 'PSLEncoderDecoder'
    runner.train()
    hub = runner.message_hub
    for key in ('loss_seg_ae', 'loss_seg_psl', 'loss_cls'):
        value = hub.get_scalar(f'train/{key}').current()
        assert np.isfinite(value) and value > 0, key
    total = hub.get_scalar('train/loss').current()
    parts = sum(
        hub.get_scalar(f'train/{k}').current()
        for k in ('loss_seg_ae', 'loss_seg_psl', 'loss_cls', 'aux.loss_ce'))
    assert total == pytest.approx(parts, rel=1e-4)
    # the classification loss is the squared error on sigmoid scores
    assert hub.get_scalar('train/loss_cls').current() < 1.0

    # direct loss call: names, and a clear error without image labels
    model.eval()
    data = next(iter(runner.train_dataloader))
    data = model.data_preprocessor(data, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_seg_ae', 'loss_seg_psl', 'loss_cls'} <= set(losses)
    first = data['data_samples'][0]
    bare = SegDataSample(metainfo={
        k: v for k, v in first.metainfo.items() if k != 'img_labels'})
    bare.gt_sem_seg = first.gt_sem_seg
    with pytest.raises(KeyError, match='img_labels'):
        model.loss(data['inputs'][:1], [bare])
    # inference is the segmentation branch
    with torch.no_grad():
        preds = model.predict(data['inputs'], data['data_samples'])
    assert preds[0].pred_sem_seg.data.shape[-2:] == (32, 32)
