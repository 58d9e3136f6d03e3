# Copyright (c) mmwsl contributors. All rights reserved.
"""Adversarial erasing end to end with tools/train_erasing.py on a tiny
synthetic dataset: three rounds in subprocesses, killed with SIGKILL during
round 2 training and (in another run) during round 2 mining, restarted, and
compared with an uninterrupted run (spec T13); mining idempotency, config
change refusal and the checkpoint's erase_src_sha check."""
import copy
import importlib.util
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmwsl.apis.adversarial_erasing import (
    RoundFiles,
    done_rounds,
    file_sha256,
    finalize_round,
    load_regions,
    load_state,
    mine_images,
    read_done,
    read_json,
    round_dir,
)
from mmwsl.datasets.synthetic import generate_synthetic_dataset
from mmwsl.engine.hooks import AEMiningHook
from mmwsl.models.layers import ErasePolicy
from mmwsl.registry import MODELS
from mmwsl.utils.checkpoint import load_checkpoint_safely

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'train_erasing.py')
NUM_TRAIN = 6

TINY_CONFIG = """
_base_ = [{base!r}]
_syn = dict(type='mmwsl.SyntheticWSSSDataset', data_root={data!r},
            num_classes=4, image_size=32,
            num_samples=dict(train={n}, test=2), seed=0)
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    head=dict(in_channels=64))
train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmwsl.ApplyAdversarialErasure'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    _delete_=True, batch_size=3, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_syn, split='train', pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = []
train_cfg = dict(_delete_=True, by_epoch=True, max_epochs=2)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=3))
adversarial_erasing = dict(
    num_rounds=3, mining=dict(batch_size=2, save_cams='first'))
"""


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp('ae')
    data = str(base / 'data')
    generate_synthetic_dataset(data, num_samples=dict(train=NUM_TRAIN,
                                                      test=2),
                               image_size=32, multi_label=True)
    cfg = base / 'ae_tiny.py'
    cfg.write_text(TINY_CONFIG.format(
        base=osp.join(REPO, 'configs', 'erasing',
                      'ae_resnet18_synthetic-wsss.py'),
        data=data, n=NUM_TRAIN))
    return base, str(cfg)


def _start(cfg, root, kill=None, options=()):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONWARNINGS='ignore')
    env.pop('MMWSL_AE_KILL_AFTER', None)
    if kill:
        env['MMWSL_AE_KILL_AFTER'] = kill
    cmd = [sys.executable, TOOL, cfg, '--work-dir', root]
    if options:
        cmd += ['--cfg-options', *options]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait(proc, expect_kill=False):
    out, _ = proc.communicate(timeout=600)
    if expect_kill:
        assert proc.returncode == -signal.SIGKILL, out[-3000:]
    else:
        assert proc.returncode == 0, out[-3000:]
    return out


def _files(root, t):
    files = RoundFiles(round_dir(root, t))
    names = sorted(os.listdir(files.erase_dir))
    return {
        n: (os.stat(osp.join(files.erase_dir, n)).st_mtime_ns,
            file_sha256(osp.join(files.erase_dir, n)))
        for n in names
    }


@pytest.fixture(scope='module')
def runs(tiny):
    """Uninterrupted run, and two killed-and-restarted runs."""
    base, cfg = tiny
    ref, a, b, stop = (str(base / n)
                       for n in ('ref', 'kill_train', 'kill_mine', 'stop'))
    # 6 images, batch 3: 2 iterations per epoch, 2 epochs per round.
    # Iteration 3 of round 2 is in epoch 2, after epoch_1.pth was saved.
    # The auto-stop run stops as soon as a round's loss exceeds 0.01 x
    # round 1's, i.e. at round 2.
    procs = [_start(cfg, ref), _start(cfg, a, '2:train:3'),
             _start(cfg, b, '2:mine:3'),
             _start(cfg, stop, options=(
                 'adversarial_erasing.auto_stop=True',
                 'adversarial_erasing.stop_loss_ratio=0.01'))]
    out_ref = _wait(procs[0])
    _wait(procs[1], expect_kill=True)
    _wait(procs[2], expect_kill=True)
    out_stop = _wait(procs[3])
    killed = dict(
        train=dict(state=load_state(a), ckpts=sorted(
            f for f in os.listdir(round_dir(a, 2)) if f.endswith('.pth'))),
        mine=dict(state=load_state(b), files=_files(b, 2)))
    procs = [_start(cfg, a), _start(cfg, b)]
    _wait(procs[0])
    _wait(procs[1])
    return dict(ref=ref, a=a, b=b, stop=stop, killed=killed, log=out_ref,
                stop_log=out_stop, cfg=cfg)


def test_uninterrupted_run(runs):
    root = runs['ref']
    state = load_state(root)
    assert [state['rounds'][str(t)]['status'] for t in (1, 2, 3)] == \
        ['done'] * 3
    assert 'AE mining round_1' in runs['log']  # progress line
    prev = 0.0
    for t in (1, 2, 3):
        done = read_done(round_dir(root, t))
        assert done['num_images'] == NUM_TRAIN
        frac = done['stats']['mean_erased_fraction']
        assert frac >= prev  # the erased set is cumulative
        prev = frac
        assert state['rounds'][str(t)]['files_sha'] == done['files_sha']
        assert state['rounds'][str(t)]['final_loss'] > 0
        src = 'none' if t == 1 else read_done(round_dir(root,
                                                        t - 1))['files_sha']
        assert state['rounds'][str(t)]['erase_src_sha'] == src
    assert 0 < prev < 1
    # round-1 CAMs only (save_cams='first')
    assert osp.isdir(osp.join(round_dir(root, 1), 'cams'))
    assert not osp.isdir(osp.join(round_dir(root, 2), 'cams'))
    # the union over a round's classes is inside the cumulative mask
    images = read_json(osp.join(root, 'images.json'))['images']
    files2 = RoundFiles(round_dir(root, 2))
    for s in images:
        classes, masks = load_regions(files2.regions(s['id']))
        assert classes.tolist() == s['labels']


def test_kill_during_round2_training_resumes_identically(runs):
    killed = runs['killed']['train']
    assert killed['state']['rounds']['2']['status'] == 'training'
    assert killed['ckpts'] == ['epoch_1.pth']
    for t in (1, 2, 3):
        assert read_done(round_dir(runs['a'], t))['files_sha'] == \
            read_done(round_dir(runs['ref'], t))['files_sha']


def test_kill_during_round2_mining_resumes_identically(runs):
    killed = runs['killed']['mine']
    assert killed['state']['rounds']['2']['status'] == 'mining'
    before = killed['files']
    assert len(before) == 3  # killed after 3 images
    after = _files(runs['b'], 2)
    assert len(after) == NUM_TRAIN
    for name, (mtime, sha) in before.items():
        assert after[name] == (mtime, sha)  # untouched by the restart
    for t in (1, 2, 3):
        assert read_done(round_dir(runs['b'], t))['files_sha'] == \
            read_done(round_dir(runs['ref'], t))['files_sha']


def _driver():
    spec = importlib.util.spec_from_file_location('train_erasing', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_changed_policy_is_refused(runs):
    drv = _driver()
    cfg = Config.fromfile(runs['cfg'])
    cfg.work_dir = runs['ref']
    samples, classes = drv.mining_samples(cfg)
    # same config: accepted (more rounds may be asked for)
    drv.init_state(runs['ref'], cfg, drv.ae_settings(cfg), 4, samples,
                   classes)
    changed = copy.deepcopy(cfg)
    changed.adversarial_erasing.policy = dict(mode='topk_ratio', ratio=0.3)
    with pytest.raises(ValueError, match='another config'):
        drv.init_state(runs['ref'], changed, drv.ae_settings(changed), 3,
                       samples, classes)


def test_checkpoint_of_other_erased_data_raises(runs):
    root = runs['ref']
    ckpt = load_checkpoint_safely(osp.join(round_dir(root, 2), 'final.pth'),
                                  map_location='cpu')
    ae = ckpt['meta']['ae']
    assert ae['round'] == 2
    assert ae['erase_src_sha'] == read_done(round_dir(root,
                                                      1))['files_sha']
    ok = AEMiningHook(root, 2, ae['policy'], ae['erase_src_sha'])
    ok.after_load_checkpoint(None, ckpt)
    assert ok.last_loss == pytest.approx(ae['loss'])
    with pytest.raises(ValueError, match='erase_src_sha'):
        AEMiningHook(root, 2, ae['policy'], 'f' * 64).after_load_checkpoint(
            None, ckpt)
    with pytest.raises(ValueError, match='policy'):
        AEMiningHook(root, 2, dict(mode='minmax', ratio=0.5),
                     ae['erase_src_sha']).after_load_checkpoint(None, ckpt)
    with pytest.raises(ValueError, match='round 2 loaded in round 3'):
        AEMiningHook(root, 3, ae['policy'], 'x').after_load_checkpoint(
            None, ckpt)
    # fine-tuning from the previous round's classifier is allowed
    AEMiningHook(root, 3, ae['policy'], 'x',
                 init_from_round=2).after_load_checkpoint(None, ckpt)


def test_mining_is_idempotent(runs, tmp_path):
    """Re-mining round 2 into a copy: finished files are skipped and left
    untouched, deleted ones come back byte-identical."""
    root = runs['ref']
    cfg = Config.fromfile(runs['cfg'])
    model = MODELS.build(cfg.model)
    ckpt = load_checkpoint_safely(osp.join(round_dir(root, 2), 'final.pth'),
                                  map_location='cpu')
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    state = load_state(root)
    samples = read_json(osp.join(root, 'images.json'))['images']
    src = RoundFiles(round_dir(root, 2))
    dst = RoundFiles(str(tmp_path / 'round_2'))
    for sub in ('regions', 'erase'):
        os.makedirs(osp.join(dst.dir, sub))
    keep = samples[:2]
    for s in keep:
        for a, b in ((src.regions(s['id']), dst.regions(s['id'])),
                     (src.erase(s['id']), dst.erase(s['id']))):
            with open(a, 'rb') as f, open(b, 'wb') as g:
                g.write(f.read())
    before = {s['id']: os.stat(dst.erase(s['id'])).st_mtime_ns
              for s in keep}
    fill = AEMiningHook(root, 2, state['policy'], 'x',
                        mean=state['fill_mean']).fill
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the driver ran (OMP_NUM_THREADS=1)
    try:
        result = mine_images(model, samples, dst,
                             ErasePolicy(**state['policy']), fill,
                             RoundFiles(round_dir(root, 1)).erase_dir,
                             batch_size=2, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert result == dict(done=NUM_TRAIN - 2, skipped=2, total=NUM_TRAIN)
    for s in keep:
        assert os.stat(dst.erase(s['id'])).st_mtime_ns == before[s['id']]
    done = finalize_round(dst, samples, 2)
    assert done['files_sha'] == read_done(src.dir)['files_sha']
    again = mine_images(model, samples, dst, ErasePolicy(**state['policy']),
                        fill, RoundFiles(round_dir(root, 1)).erase_dir,
                        progress=False)
    assert again['done'] == 0
    with open(osp.join(src.dir, 'MINING_DONE.json')) as f:
        assert json.load(f)['num_images'] == NUM_TRAIN


def test_auto_stop(runs):
    root = runs['stop']
    state = load_state(root)
    assert state['stopped_at'] == 2
    assert state['rounds']['1']['status'] == 'done'
    assert state['rounds']['2']['status'] == 'stopped'
    assert state['rounds']['2']['final_loss'] > 0.01 * state['rounds']['1'][
        'final_loss']
    assert '3' not in state['rounds']
    assert read_done(round_dir(root, 2)) is None  # round 2 not mined
    assert not osp.isdir(osp.join(round_dir(root, 2), 'erase'))
    assert done_rounds(state) == [1]
    assert 'auto-stopped at round 2' in runs['stop_log']
