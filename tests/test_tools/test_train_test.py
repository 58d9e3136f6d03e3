# Copyright (c) mmwsl contributors. All rights reserved.
"""End-to-end runs of tools/train.py, tools/test.py and the dist scripts."""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import pytest
import torch

from mmwsl.utils import load_checkpoint_safely

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools')
BASE_CONFIG = osp.join(ROOT, 'configs', 'cam', 'cam_resnet18_synthetic.py')

TINY = '''
_base_ = [{base!r}]
_data = dict(data_root={root!r}, image_size=64, num_classes=3,
             num_samples=dict(train=32, test=12))
train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmwsl.LoadWSOLMask'),
    dict(type='mmwsl.PackWSOLInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0,
                        dataset=dict(**_data, pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, dataset=_data)
test_dataloader = val_dataloader
model = dict(backbone=dict(stem_channels=16, base_channels=16),
             data_preprocessor=dict(num_classes=3),
             head=dict(num_classes=3, in_channels=128))
train_cfg = dict(max_epochs=3, val_interval=3)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1],
                        gamma=0.5)]
default_hooks = dict(logger=dict(interval=1))
'''


def run(args, env=None, check=True, cwd=ROOT):
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


def python(*args, **kwargs):
    return run([sys.executable, *args], **kwargs)


def test_metrics(text):
    """Parse 'Test metrics: k: v, ...' from a tools/test.py log."""
    line = [ln for ln in text.splitlines() if 'Test metrics:' in ln][-1]
    return {
        k: float(v)
        for k, v in re.findall(r'([\w/\-@.]+): (-?[\d.]+)',
                               line.split('Test metrics:')[1])
    }


test_metrics.__test__ = False


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tools')
    cfg = tmp / 'tiny_cam.py'
    cfg.write_text(TINY.format(base=BASE_CONFIG, root=str(tmp / 'data')))
    work = tmp / 'work'
    python(osp.join(TOOLS, 'train.py'), str(cfg), '--work-dir', str(work))
    return dict(tmp=tmp, cfg=str(cfg), work=work)


def test_train_writes_checkpoints(tiny):
    work = tiny['work']
    assert (work / 'epoch_2.pth').is_file()
    last = (work / 'last_checkpoint').read_text().strip()
    assert last.endswith('epoch_3.pth')
    ckpt = load_checkpoint_safely(last)
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 12


def test_test_tool_metrics_and_overlays(tiny):
    show = tiny['tmp'] / 'overlays'
    proc = python(osp.join(TOOLS, 'test.py'), tiny['cfg'],
                  str(tiny['work'] / 'epoch_3.pth'), '--work-dir',
                  str(tiny['tmp'] / 'test1'), '--show-dir', str(show))
    metrics = test_metrics(proc.stdout + proc.stderr)
    loc = [v for k, v in metrics.items() if 'gt_known' in k.lower()]
    assert loc and all(0 <= v <= 100 for v in loc)
    pngs = sorted(os.listdir(show))
    assert len(pngs) == 12
    img = cv2.imread(str(show / pngs[0]))
    assert img.shape == (64, 64, 3)


def test_resume_matches_uninterrupted_training(tiny):
    """Resuming the 3-epoch run from its epoch-2 checkpoint reproduces its
    epoch-3 checkpoint: same iteration, weights, optimizer state and
    learning-rate schedule."""
    resumed = tiny['tmp'] / 'resumed'
    proc = python(osp.join(TOOLS, 'train.py'), tiny['cfg'], '--work-dir',
                  str(resumed), '--resume', str(tiny['work'] / 'epoch_2.pth'))
    assert 'resumed epoch: 2, iter: 8' in proc.stdout + proc.stderr
    a = load_checkpoint_safely(str(tiny['work'] / 'epoch_3.pth'))
    b = load_checkpoint_safely(str(resumed / 'epoch_3.pth'))
    assert b['meta']['iter'] == 12
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(b['state_dict'][key], value,
                                   msg=f'weights differ at {key}')
    assert a['param_schedulers'] == b['param_schedulers']
    assert b['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.025)
    for key, state in a['optimizer']['state'].items():
        torch.testing.assert_close(
            b['optimizer']['state'][key]['momentum_buffer'],
            state['momentum_buffer'])
    # `--resume` without a path continues from the work dir's last
    # checkpoint (here: already finished, so nothing more is trained).
    again = python(osp.join(TOOLS, 'train.py'), tiny['cfg'], '--work-dir',
                   str(resumed), '--resume')
    assert 'resumed epoch: 3, iter: 12' in again.stdout + again.stderr


def test_dist_train_and_test_on_cpu(tiny):
    work = tiny['tmp'] / 'dist'
    env = dict(PORT='29531')
    run(['bash', osp.join(TOOLS, 'dist_train.sh'), tiny['cfg'], '2',
         '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1'], env=env)
    assert (work / 'epoch_1.pth').is_file()
    ckpt = str(tiny['work'] / 'epoch_3.pth')
    single = python(osp.join(TOOLS, 'test.py'), tiny['cfg'], ckpt,
                    '--work-dir', str(tiny['tmp'] / 'single'))
    double = run(['bash', osp.join(TOOLS, 'dist_test.sh'), tiny['cfg'],
                  ckpt, '2', '--work-dir', str(tiny['tmp'] / 'double')],
                 env=dict(PORT='29532'))
    m1 = test_metrics(single.stdout + single.stderr)
    m2 = test_metrics(double.stdout + double.stderr)
    assert m1 and m1 == m2


def test_missing_config_is_reported():
    proc = python(osp.join(TOOLS, 'train.py'), 'configs/nope/none.py',
                  check=False)
    assert proc.returncode != 0
    assert 'Config file configs/nope/none.py does not exist' in proc.stderr


def test_amp_on_cpu_is_refused(tiny):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    proc = python(osp.join(TOOLS, 'train.py'), tiny['cfg'], '--amp',
                  check=False)
    assert proc.returncode != 0 and '--amp needs a GPU' in proc.stderr


def test_missing_data_folder_is_reported(tiny, tmp_path):
    proc = python(osp.join(TOOLS, 'train.py'), tiny['cfg'], '--work-dir',
                  str(tmp_path / 'w'), '--cfg-options',
                  f'train_dataloader.dataset.data_root={tmp_path}/absent',
                  'train_dataloader.dataset.generate=False', check=False)
    assert proc.returncode != 0
    assert f'No synthetic dataset at {tmp_path}/absent' in proc.stderr


def test_corrupt_image_is_reported(tiny, tmp_path):
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(tiny['tmp'] / 'data', data)
    bad = data / 'images' / 'train' / '00003.png'
    bad.write_bytes(b'not a png at all')
    proc = python(osp.join(TOOLS, 'train.py'), tiny['cfg'], '--work-dir',
                  str(tmp_path / 'w'), '--cfg-options',
                  f'train_dataloader.dataset.data_root={data}',
                  'train_cfg.max_epochs=1', check=False)
    assert proc.returncode != 0
    assert f'Cannot decode image file {bad}' in proc.stderr


def test_mismatched_checkpoint_is_reported(tiny, tmp_path):
    proc = python(osp.join(TOOLS, 'test.py'), tiny['cfg'],
                  str(tiny['work'] / 'epoch_3.pth'), '--work-dir',
                  str(tmp_path), '--cfg-options', 'model.head.num_classes=5',
                  check=False)
    assert proc.returncode != 0
    assert 'does not match the model' in proc.stderr
    assert 'head.fc.weight' in proc.stderr


def test_missing_pretrained_checkpoint_is_reported(tmp_path):
    """A "-pre" config whose pre-trained backbone was not trained yet stops
    before building the runner, naming the config key."""
    missing = tmp_path / 'epoch_8.pth'
    proc = python(osp.join(TOOLS, 'train.py'),
                  'configs/wsss/cam_resnet18-pre_synthetic-wsss.py',
                  '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                  f'model.backbone.init_cfg.checkpoint={missing}',
                  check=False)
    assert proc.returncode == 1
    assert (f"model.backbone.init_cfg.checkpoint = '{missing}': no such "
            'checkpoint') in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'w').exists()
