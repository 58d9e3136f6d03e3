# Copyright (c) mmwsl contributors. All rights reserved.
"""End to end on the synthetic WSSS dataset, with the documented commands:
train the CAM classifier, generate pseudo-labels (one process, two
processes, killed and resumed: identical folders), evaluate them, train and
test a small MMSeg segmentor on them."""

import contextlib
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
CLS_CONFIG = osp.join(REPO, 'configs/wsss/cam_resnet18_synthetic-wsss.py')
SEG_CONFIG = osp.join(
    REPO, 'configs/wsss/deeplabv3_r18-d8_1xb8-400_synthetic-wsss-pseudo.py'
)


def load_tool(relpath):
    """Import a script under tools/ as a module (tools/ is no package)."""
    import importlib.util

    path = osp.join(TOOLS, relpath)
    name = 'mmwsl_tool_' + relpath.replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args, cwd, timeout=600, env=None):
    full_env = dict(
        os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', **(env or {})
    )
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
        )
    return proc.stdout + proc.stderr


@contextlib.contextmanager
def one_thread():
    """In-process tool runs use one thread like the torchrun workers (and
    avoid oversubscribing small CI machines)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def generate(argv):
    """tools/generate_pseudo_labels.py in this process, on one thread."""
    with one_thread():
        return load_tool('generate_pseudo_labels.py').main(argv)


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def folder_bytes(root):
    """Every file's bytes by relative path; the folder's own path, which
    the config snippet names, is replaced by a placeholder."""
    out = {}
    for folder, _, files in os.walk(root):
        for f in files:
            path = osp.join(folder, f)
            with open(path, 'rb') as fh:
                data = fh.read()
            if f == 'pseudo_label_dataset.py':
                data = data.replace(str(root).encode(), b'<out>')
            out[osp.relpath(path, root)] = data
    return out


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A small synthetic dataset and a trained classifier."""
    root = tmp_path_factory.mktemp('wsss')
    data = root / 'data'
    cfg = root / 'cam_small.py'
    cfg.write_text(f"""
_base_ = [{CLS_CONFIG!r}]
_ds = dict(type='mmwsl.SyntheticWSSSDataset', data_root={str(data)!r},
           num_classes=4, image_size=64, seed=0,
           num_samples=dict(train=40, test=16))
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **_ds, split='train',
                 pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **_ds, split='test',
                 pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = val_dataloader
pseudo_label_dataset = dict(_delete_=True, **_ds, split='train')
pseudo_label_gt_dir = {str(data / 'masks' / 'train')!r}
model = dict(backbone=dict(strides=(1, 2, 1, 1)))  # output stride 8
pseudo_label_cfg = dict(output_stride=8)
optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        end=12)]
train_cfg = dict(max_epochs=12, val_interval=12)
default_hooks = dict(checkpoint=dict(interval=12))
""")
    run(
        [
            osp.join(TOOLS, 'train.py'),
            str(cfg),
            '--work-dir',
            str(root / 'cls'),
        ],
        cwd=root,
    )
    ckpt = root / 'cls' / 'epoch_12.pth'
    assert ckpt.is_file()
    return dict(root=root, data=data, cfg=str(cfg), ckpt=str(ckpt))


@pytest.fixture(scope='module')
def labels(workspace):
    """Pseudo-labels from one uninterrupted single-process run."""
    main = generate
    out = workspace['root'] / 'pl_single'
    main(
        [
            workspace['cfg'],
            workspace['ckpt'],
            '--out',
            str(out),
            '--no-progress',
        ]
    )
    return out


def test_output_folder_is_an_mmseg_dataset(workspace, labels):
    names = (labels / 'splits' / 'train.txt').read_text().split()
    assert names == [f'{i:05d}' for i in range(40)]
    meta = json.loads((labels / 'meta.json').read_text())
    assert meta['fingerprint']['scales'] == [1.0, 0.5, 1.5, 2.0]
    assert meta['info']['num_classes'] == 5
    from mmengine.config import Config
    from mmseg.datasets import BaseSegDataset

    snippet = Config.fromfile(str(labels / 'pseudo_label_dataset.py'))
    ds = BaseSegDataset(
        data_root='',
        data_prefix=snippet.pseudo_label_data_prefix,
        ann_file=snippet.pseudo_label_ann_file,
        img_suffix=snippet.pseudo_label_img_suffix,
        seg_map_suffix='.png',
        metainfo=snippet.pseudo_label_metainfo,
    )
    assert len(ds) == 40
    # The recipe of the snippet's comment, on the synthetic MMSeg config.
    child = workspace['root'] / 'seg_on_snippet.py'
    child.write_text(f"""
_base_ = [{SEG_CONFIG!r}, {str(labels / 'pseudo_label_dataset.py')!r}]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='BaseSegDataset',
        metainfo={{{{_base_.pseudo_label_metainfo}}}},
        data_root='',
        data_prefix={{{{_base_.pseudo_label_data_prefix}}}},
        ann_file={{{{_base_.pseudo_label_ann_file}}}},
        img_suffix={{{{_base_.pseudo_label_img_suffix}}}},
        seg_map_suffix='.png',
        reduce_zero_label=False,
        pipeline={{{{_base_.train_pipeline}}}}))
""")
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(str(child))
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg_ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(seg_ds) == 40
    assert seg_ds[0]['data_samples'].gt_sem_seg.data.shape == (1, 64, 64)
    info = ds.get_data_info(3)
    assert osp.isfile(info['img_path']) and osp.isfile(info['seg_map_path'])
    # Labels only use the image's classes (and background).
    import cv2

    from mmwsl.apis import load_cams_npz

    records = json.loads((workspace['data'] / 'train.json').read_text())
    for i in range(0, 40, 7):
        png = cv2.imread(
            str(labels / 'ann_dir' / f'{i:05d}.png'), cv2.IMREAD_UNCHANGED
        )
        assert png.shape == (64, 64) and png.dtype == np.uint8
        allowed = {0} | {k + 1 for k in records[i]['labels']}
        assert set(np.unique(png).tolist()) <= allowed
        keys, cams = load_cams_npz(str(labels / 'cams' / f'{i:05d}.npz'))
        assert keys.tolist() == sorted(records[i]['labels'])
        assert cams.shape == (len(keys), 64, 64) and cams.max() <= 1


def test_pseudo_labels_beat_all_background(workspace, labels):
    main = load_tool('analysis_tools/eval_pseudo_labels.py').main
    out = workspace['root'] / 'eval'
    res = main(
        [str(labels), '--sweep', 'hfpl', '--contour', '--out-dir', str(out)]
    )
    best = res['best']['miou_nanmean']
    baseline = res['all_background_miou']['nanmean']
    assert len(res['curve']) == 60
    assert best > baseline + 10, (best, baseline)
    assert (out / 'miou_curve.png').is_file()
    assert (out / 'per_class_iou.csv').read_text().startswith('class,iou')
    assert 0 < res['contour_fscore']['fscore'] <= 100
    # The PNG labels (threshold 0.25) score as the sweep says at 0.25.
    png = main([str(labels), '--mode', 'png'])
    at = next(r for r in res['curve'] if r['threshold'] == 0.25)
    assert png['best']['miou_nanmean'] == pytest.approx(at['miou_nanmean'])


def test_two_processes_give_identical_files(workspace, labels):
    out = workspace['root'] / 'pl_dist'
    run(
        [
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            f'--master_port={free_port()}',
            osp.join(TOOLS, 'generate_pseudo_labels.py'),
            workspace['cfg'],
            workspace['ckpt'],
            '--out',
            str(out),
            '--launcher',
            'pytorch',
        ],
        cwd=workspace['root'],
    )
    assert folder_bytes(out) == folder_bytes(labels)


def test_killed_run_resumes_to_identical_folder(workspace, labels):
    out = workspace['root'] / 'pl_killed'
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        [
            sys.executable,
            osp.join(TOOLS, 'generate_pseudo_labels.py'),
            workspace['cfg'],
            workspace['ckpt'],
            '--out',
            str(out),
            '--no-progress',
        ],
        cwd=workspace['root'],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    ann = out / 'ann_dir'
    while time.time() < deadline and proc.poll() is None:
        if ann.is_dir() and len(os.listdir(ann)) >= 12:
            break
        time.sleep(0.05)
    assert proc.poll() is None, 'finished before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = folder_bytes(out)
    assert 12 <= len([k for k in partial if k.startswith('ann_dir')]) < 40
    assert not (out / 'splits').exists()
    main = generate
    main(
        [
            workspace['cfg'],
            workspace['ckpt'],
            '--out',
            str(out),
            '--no-progress',
        ]
    )
    final = folder_bytes(out)
    for key, value in partial.items():  # nothing written is lost
        if not osp.basename(key).startswith('.'):
            assert final[key] == value
    assert final == folder_bytes(labels)


def test_folder_of_another_config_is_refused(workspace, labels):
    main = generate
    before = folder_bytes(labels)
    with pytest.raises(FileExistsError, match='bg_threshold'):
        main(
            [
                workspace['cfg'],
                workspace['ckpt'],
                '--out',
                str(labels),
                '--bg-threshold',
                '0.4',
                '--no-progress',
            ]
        )
    with pytest.raises(FileExistsError, match='scales'):
        main(
            [
                workspace['cfg'],
                workspace['ckpt'],
                '--out',
                str(labels),
                '--scales',
                '1.0',
                '--no-progress',
            ]
        )
    assert folder_bytes(labels) == before


def test_segmentor_on_pseudo_labels(workspace, labels):
    """MMSeg's own train.py on the pseudo-labels, mmwsl's test.py with
    MMSeg's IoUMetric on the synthetic test split."""
    import mmseg

    root, data = workspace['root'], workspace['data']
    mmseg_train = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py'
    )
    options = [
        '--cfg-options',
        f'train_dataloader.dataset.data_prefix.img_path={data}/images/train',
        f'train_dataloader.dataset.data_prefix.seg_map_path={labels}/ann_dir',
        f'train_dataloader.dataset.ann_file={labels}/splits/train.txt',
        f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}',
        'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        'train_cfg.max_iters=6',
        'train_cfg.val_interval=6',
        'default_hooks.checkpoint.interval=6',
        'model.data_preprocessor.size=[64,64]',
    ]
    run(
        [mmseg_train, SEG_CONFIG, '--work-dir', str(root / 'seg')] + options,
        cwd=root,
    )
    ckpt = root / 'seg' / 'iter_6.pth'
    assert ckpt.is_file()
    log = run(
        [
            osp.join(TOOLS, 'test.py'),
            SEG_CONFIG,
            str(ckpt),
            '--work-dir',
            str(root / 'seg_test'),
        ]
        + options,
        cwd=root,
    )
    match = re.search(r'Test metrics: .*mIoU: ([0-9.]+)', log)
    assert match, log[-2000:]
    assert 0 <= float(match.group(1)) <= 100


def test_relabel_from_saved_cams(workspace, labels):
    main = load_tool('relabel_pseudo_labels.py').main
    same = workspace['root'] / 'relabel_025'
    main([str(labels), '--out', str(same), '--no-progress'])
    src = folder_bytes(labels)
    new = folder_bytes(same)
    ann = sorted(k for k in src if k.startswith('ann_dir'))
    assert len(ann) == 40 and all(new[k] == src[k] for k in ann)
    assert new['splits/train.txt'] == src['splits/train.txt']
    other = workspace['root'] / 'relabel_confident'
    main(
        [
            str(labels),
            '--out',
            str(other),
            '--ignore-thresholds',
            '0.3',
            '0.15',
            '--no-progress',
        ]
    )
    import cv2

    pngs = [cv2.imread(str(other / k), cv2.IMREAD_UNCHANGED) for k in ann]
    assert any((p == 255).any() for p in pngs)
    with pytest.raises(FileExistsError, match='label_cfg'):
        main([str(labels), '--out', str(other), '--no-progress'])
