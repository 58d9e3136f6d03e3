# Copyright (c) mmwsl contributors. All rights reserved.
"""``configs/bas/bas_resnet50_cub.py`` as a new user runs it: first without
data, then on a miniature CUB-200-2011 folder written to disk."""
import json
import os.path as osp
import sys

from mmwsl.utils.cli import user_error_message

from test_train_test import ROOT, TOOLS, run  # isort: skip

sys.path.insert(0, osp.join(ROOT, 'tests', 'test_datasets'))
from wsol_builders import build_cub  # noqa: E402  isort: skip

CONFIG = osp.join(ROOT, 'configs', 'bas', 'bas_resnet50_cub.py')


def tool(script, *args, cwd, check=True):
    """Run a tool from ``cwd``, so ``data/`` resolves inside it."""
    return run([sys.executable, osp.join(TOOLS, script), *args], check=check,
               cwd=cwd)


def test_no_data_gives_instructions(tmp_path):
    proc = tool('train.py', CONFIG, '--work-dir', str(tmp_path / 'w'),
                cwd=tmp_path, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert 'CUB-200-2011 not found at data/CUB_200_2011' in err
    assert 'images.txt' in err and 'CUB_200_2011.tgz' in err
    # The message, not a traceback.
    assert 'Traceback' not in err
    assert 'MMWSL_DEBUG=1' in err


def test_debug_env_keeps_traceback(tmp_path):
    proc = run([sys.executable, osp.join(TOOLS, 'train.py'), CONFIG,
                '--work-dir', str(tmp_path / 'w')], check=False,
               cwd=tmp_path, env={'MMWSL_DEBUG': '1'})
    assert proc.returncode != 0
    assert 'Traceback' in proc.stderr
    assert 'CUB-200-2011 not found' in proc.stderr


def test_user_error_message_filters_foreign_errors():
    try:
        int('x')  # raised outside mmwsl: keeps its traceback
    except ValueError as exc:
        assert user_error_message(exc) is None
    worker = ValueError(
        'Caught ValueError in DataLoader worker process 0.\n'
        'Original Traceback (most recent call last):\n'
        f'  File "{osp.join(ROOT, "mmwsl", "datasets", "x.py")}", line 3, '
        'in load\n    raise ValueError(msg)\n'
        'ValueError: Cannot decode image file a.jpg')
    assert user_error_message(worker) == (
        'ValueError: Cannot decode image file a.jpg')


def test_trains_and_evaluates_on_miniature_cub(tmp_path):
    build_cub(str(tmp_path / 'data'))
    work = tmp_path / 'work'
    opts = [
        '--cfg-options', 'model.backbone.init_cfg=None',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'default_hooks.logger.interval=1'
    ]
    proc = tool('train.py', CONFIG, '--work-dir', str(work), *opts,
                cwd=tmp_path)
    log = proc.stdout + proc.stderr
    # Both loss terms of BAS were logged and the test split was evaluated.
    for key in ('loss_cls', 'loss_fg', 'loss_bg', 'loss_area'):
        assert key in log, key
    assert 'wsol/gt_known' in log
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    out = tmp_path / 'test_out'
    tool('test.py', CONFIG, str(ckpt), '--work-dir', str(out),
         '--show-dir', str(out / 'vis'), *opts, cwd=tmp_path)
    metrics = sorted(out.rglob('*.json'))
    scalars = [json.loads(p.read_text()) for p in metrics]
    scalars = [s for s in scalars if 'wsol/gt_known' in s]
    assert scalars, [str(p) for p in metrics]
    result = scalars[-1]
    # Two test images: every accuracy is a multiple of 50 %.
    for key in ('wsol/gt_known', 'wsol/top1_loc', 'wsol/MaxBoxAccV2'):
        assert 0.0 <= result[key] <= 100.0, key
    assert result['wsol/gt_known'] % 50 == 0
    assert len(list((out / 'vis').rglob('*.png'))) == 2
