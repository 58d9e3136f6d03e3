# Copyright (c) mmwsl contributors. All rights reserved.
import copy
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmwsl.apis import inference_model, init_model
from mmwsl.datasets.synthetic import generate_synthetic_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'cam', 'cam_resnet18_synthetic.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('apis')
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.num_classes = 3
    model = init_model(cfg)
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=['a', 'b', 'c']))),
               ckpt)
    generate_synthetic_dataset(str(tmp / 'data'), num_classes=3,
                               num_samples=dict(test=2), image_size=64)
    return dict(tmp=tmp, cfg=cfg, ckpt=ckpt,
                image=str(tmp / 'data/images/test/00000.png'))


def test_inference_model(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    result = inference_model(model, setup['image'], threshold=0.3)
    assert result['cam'].shape == (64, 64)
    assert result['cam'].min() == 0 and result['cam'].max() == 1
    assert result['pred_score'].shape == (3, )
    assert result['pred_class'] == 'abc'[result['pred_label']]
    assert result['data_sample'].cam_label == result['pred_label']
    boxes = result['bboxes']
    assert boxes.dtype == np.int64 and boxes.shape == (1, 4)
    assert (boxes[:, 2:] <= 63).all()
    # An array input gives the same answer as the file.
    again = inference_model(model, cv2.imread(setup['image']),
                            threshold=0.3, label=1)
    assert again['data_sample'].cam_label == 1


def test_mismatched_checkpoint(setup, tmp_path):
    cfg = copy.deepcopy(setup['cfg'])
    cfg.model.head.num_classes = 5
    with pytest.raises(RuntimeError, match='does not match the model'):
        init_model(cfg, setup['ckpt'])


def test_visualize_cam_tool(setup):
    cfg_path = str(setup['tmp'] / 'cfg.py')
    setup['cfg'].dump(cfg_path)
    out = str(setup['tmp'] / 'vis' / 'cam.png')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/analysis_tools/'
                                  'visualize_cam.py'), cfg_path,
         setup['ckpt'], setup['image'], '--out-file', out],
        capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    img = cv2.imread(out)
    assert img.shape == (64, 64, 3)
    # The overlay differs from the input image.
    assert np.abs(img.astype(int) - cv2.imread(setup['image'])).mean() > 5


def test_inference_class_agnostic_model(setup):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'c2am', 'c2am_resnet18_synthetic.py'))
    model = init_model(cfg)
    result = inference_model(model, setup['image'])
    assert result['pred_label'] is None and result['pred_score'] is None
    assert result['cam'].shape == (64, 64)
    assert result['bboxes'].shape[1] == 4
