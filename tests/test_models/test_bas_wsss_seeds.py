# Copyright (c) mmwsl contributors. All rights reserved.
"""BAS seeds (spec 5.2): combining two CAM folders (``tools/combine_cams.py``)
and the whole chain on a miniature synthetic dataset with a real Runner:
train the synthetic BAS config for a few iterations, make seeds with
``tools/generate_pseudo_labels.py``, combine two seed folders and sweep
the background threshold 0.20-0.44 with
``tools/analysis_tools/eval_pseudo_labels.py``."""

import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmwsl.apis.combine_cams import combine_normalized_cams
from mmwsl.apis.pseudo_label import (
    PseudoLabelWriter,
    load_cams_npz,
    multiscale_cams,
    normalize_cams,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'bas', 'bas_resnet18_synthetic-wsss.py')


def load_tool(relpath):
    path = osp.join(REPO, 'tools', relpath)
    name = 'bas_wsss_tool_' + osp.basename(relpath)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_combine_normalized_cams():
    a = np.array(
        [[[1.0, 0.5], [0.0, 0.25]], [[0.2, 0.4], [1.0, 0.0]]], np.float32
    )
    b = np.array(
        [[[0.0, 1.0], [0.5, 0.5]], [[1.0, 1.0], [0.0, 0.0]]], np.float32
    )
    # b's classes in the other order: aligned by key.
    keys, out = combine_normalized_cams([3, 7], a, [7, 3], b[::-1])
    assert keys.tolist() == [3, 7]
    # class 3: a + b = [[1, 1.5], [0.5, 0.75]] -> / (1.5 + 1e-5)
    np.testing.assert_allclose(
        out[0], np.array([[1, 1.5], [0.5, 0.75]]) / (1.5 + 1e-5), rtol=1e-6
    )
    # class 7: [[1.2, 1.4], [1, 0]] -> / (1.4 + 1e-5)
    np.testing.assert_allclose(
        out[1], np.array([[1.2, 1.4], [1.0, 0]]) / (1.4 + 1e-5), rtol=1e-6
    )
    assert out.dtype == np.float32
    keys, out = combine_normalized_cams([], a[:0], [], b[:0])
    assert out.shape == (0, 2, 2)
    with pytest.raises(ValueError, match=r'different classes \(img\)'):
        combine_normalized_cams([3, 7], a, [3, 8], b, name='img')
    with pytest.raises(ValueError, match='different shapes'):
        combine_normalized_cams([3, 7], a, [3, 7], b[:, :1])


def write_folder(out, maps, classes=('c0', 'c1', 'c2'), img_root='/imgs',
                 strided=None):
    writer = PseudoLabelWriter(
        str(out),
        dict(model=str(out)),
        list(classes),
        img_root,
        '.jpg',
        split='train',
        label_cfg=dict(bg_threshold=0.25),
        info=dict(gt_dir='/gt', num_classes=len(classes) + 1),
        strided=None if strided is None else 2,
    )
    writer.prepare()
    for name, (keys, cams) in maps.items():
        writer.write(name, cams, keys,
                     strided=None if strided is None else strided[name])
    assert writer.finalize(list(maps)) == []
    return writer


def test_combine_tool(tmp_path):
    rng = np.random.default_rng(0)
    names = ['b/img1', 'a/img0']  # split order differs from sorted order
    keys = {'b/img1': [0, 2], 'a/img0': [1]}
    maps_a, maps_b = {}, {}
    for name in names:
        k = len(keys[name])
        maps_a[name] = (keys[name], rng.random((k, 5, 6)).astype(np.float32))
        maps_b[name] = (keys[name], rng.random((k, 5, 6)).astype(np.float32))
    write_folder(tmp_path / 'bas', maps_a)
    write_folder(tmp_path / 'cam', maps_b)

    main = load_tool('combine_cams.py').main
    out = tmp_path / 'both'
    args = [str(tmp_path / 'bas'), str(tmp_path / 'cam'), '--out', str(out)]
    main(args + ['--bg-threshold', '0.4', '--no-progress'])
    for name in names:
        k_a, a = load_cams_npz(str(tmp_path / 'bas' / 'cams' / f'{name}.npz'))
        k_b, b = load_cams_npz(str(tmp_path / 'cam' / 'cams' / f'{name}.npz'))
        k, got = load_cams_npz(str(out / 'cams' / f'{name}.npz'))
        assert k.tolist() == keys[name] and got.dtype == np.float16
        total = a.astype(np.float32) + b.astype(np.float32)
        expected = total / (total.max((1, 2), keepdims=True) + 1e-5)
        np.testing.assert_allclose(got, expected, atol=1e-3)
        # PNG labels at the combined maps with background score 0.4.
        label = cv2.imread(
            str(out / 'ann_dir' / f'{name}.png'), cv2.IMREAD_UNCHANGED
        )
        ref = np.where(
            got.max(0) > 0.4, np.asarray(k)[got.argmax(0)] + 1, 0
        )
        np.testing.assert_array_equal(label, ref)
    assert (out / 'splits' / 'train.txt').read_text().split() == names
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['info']['gt_dir'] == '/gt'
    assert meta['info']['img_root'] == '/imgs'
    assert meta['fingerprint']['classes'] == ['c0', 'c1', 'c2']
    # A second run adopts the folder and skips the finished images.
    main(args + ['--bg-threshold', '0.4', '--no-progress'])
    # Other settings: refused.
    with pytest.raises(FileExistsError, match='label_cfg'):
        main(args + ['--bg-threshold', '0.3', '--no-progress'])
    # Folders of other images or classes: refused with the names.
    write_folder(tmp_path / 'few', {'a/img0': maps_b['a/img0']})
    with pytest.raises(ValueError, match=r"1 only in the first.*b/img1"):
        main(
            [str(tmp_path / 'bas'), str(tmp_path / 'few'), '--out',
             str(tmp_path / 'x'), '--no-progress']
        )
    # ... unless --split picks images that both have.
    (tmp_path / 'one.txt').write_text('a/img0\n')
    main(
        [str(tmp_path / 'bas'), str(tmp_path / 'few'), '--out',
         str(tmp_path / 'x'), '--no-progress', '--split',
         str(tmp_path / 'one.txt')]
    )
    assert (tmp_path / 'x' / 'splits' / 'train.txt').read_text() == (
        'a/img0\n'
    )
    k, got = load_cams_npz(str(tmp_path / 'x' / 'cams' / 'a/img0.npz'))
    total = maps_a['a/img0'][1] + maps_b['a/img0'][1]
    np.testing.assert_allclose(
        got, total / (total.max((1, 2), keepdims=True) + 1e-5), atol=1e-3
    )
    assert not (tmp_path / 'x' / 'cams' / 'b').exists()
    (tmp_path / 'two.txt').write_text('a/img0\nb/img1\n')
    with pytest.raises(ValueError, match=r'1 of the requested images'):
        main(
            [str(tmp_path / 'bas'), str(tmp_path / 'few'), '--out',
             str(tmp_path / 'z'), '--no-progress', '--split',
             str(tmp_path / 'two.txt')]
        )
    write_folder(tmp_path / 'cls', maps_b, classes=('c0', 'c1', 'cX'))
    with pytest.raises(ValueError, match='different classes'):
        main(
            [str(tmp_path / 'bas'), str(tmp_path / 'cls'), '--out',
             str(tmp_path / 'y'), '--no-progress']
        )


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The synthetic BAS config, on 8 images of 64 px, trained for one
    epoch (2 iterations) by a real Runner."""
    root = tmp_path_factory.mktemp('bas_wsss')
    data = root / 'data'
    cfg_path = root / 'bas_small.py'
    cfg_path.write_text(f"""
_base_ = [{CONFIG!r}]
_ds = dict(type='mmwsl.SyntheticWSSSDataset', data_root={str(data)!r},
           num_classes=4, image_size=64, seed=0,
           num_samples=dict(train=8, test=4))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **_ds, split='train',
                 pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **_ds, split='test',
                 pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = val_dataloader
pseudo_label_dataset = dict(_delete_=True, **_ds, split='train')
pseudo_label_gt_dir = {str(data / 'masks' / 'train')!r}
model = dict(head=dict(choice_seed=0))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(root / 'work')
    runner = Runner.from_cfg(cfg)
    before = runner.model.head.generator.weight.detach().clone()
    runner.train()
    hub = runner.message_hub
    losses = {
        k: hub.get_scalar(f'train/{k}').current()
        for k in ('loss_cls', 'loss_fg', 'loss_bg', 'loss_area')
    }
    metrics = runner.val()
    after = runner.model.head.generator.weight.detach().clone()
    ckpt = root / 'work' / 'epoch_1.pth'
    return dict(
        root=root,
        cfg=str(cfg_path),
        ckpt=str(ckpt),
        losses=losses,
        metrics=metrics,
        moved=float((after - before).abs().max()),
        model=runner.model,
        data=data,
    )


def test_runner_trains_the_synthetic_config(trained):
    assert osp.isfile(trained['ckpt'])
    assert all(np.isfinite(v) for v in trained['losses'].values())
    assert 0 < trained['losses']['loss_area'] < 1.2
    assert trained['moved'] > 0  # the generator was updated
    assert 0 <= trained['metrics']['multi-label/mAP'] <= 100


def test_combine_strided_maps(tmp_path, capsys):
    rng = np.random.default_rng(1)
    keys = {'img0': [0, 2], 'img1': [1]}
    maps, small = {}, {}
    for tag in ('a', 'b'):
        maps[tag] = {
            n: (k, rng.random((len(k), 5, 6)).astype(np.float32))
            for n, k in keys.items()
        }
        small[tag] = {
            n: rng.random((len(k), 3, 3)).astype(np.float32)
            for n, k in keys.items()
        }
        write_folder(tmp_path / tag, maps[tag], strided=small[tag])
    main = load_tool('combine_cams.py').main
    out = tmp_path / 'ab'
    main([str(tmp_path / 'a'), str(tmp_path / 'b'), '--out', str(out),
          '--no-progress'])
    assert json.loads((out / 'meta.json').read_text())['fingerprint'][
        'strided'] == 2
    for name in keys:
        _, got, st = load_cams_npz(
            str(out / 'cams' / f'{name}.npz'), with_strided=True)
        a = small['a'][name].astype(np.float16).astype(np.float32)
        b = small['b'][name].astype(np.float16).astype(np.float32)
        total = a + b
        np.testing.assert_allclose(
            st, total / (total.max((1, 2), keepdims=True) + 1e-5), atol=1e-3)
    # Only one folder with strided maps: combined without them, and said.
    write_folder(tmp_path / 'c', maps['b'])
    out = tmp_path / 'ac'
    main([str(tmp_path / 'a'), str(tmp_path / 'c'), '--out', str(out),
          '--no-progress'])
    assert 'the combined files hold none' in capsys.readouterr().out
    _, _, st = load_cams_npz(
        str(out / 'cams' / 'img0.npz'), with_strided=True)
    assert st is None


def test_seeds_combine_and_sweep(trained):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generate = load_tool('generate_pseudo_labels.py').main
        seeds = trained['root'] / 'seeds'
        seeds_1x = trained['root'] / 'seeds_1x'
        common = [trained['cfg'], trained['ckpt'], '--no-progress']
        generate(common + ['--out', str(seeds), '--scales', '1.0', '0.5'])
        generate(common + ['--out', str(seeds_1x), '--scales', '1.0'])
    finally:
        torch.set_num_threads(old)
    meta = json.loads((seeds / 'meta.json').read_text())
    assert meta['fingerprint']['cam_key'] == 'fg_map'
    names = (seeds / 'splits' / 'train.txt').read_text().split()
    assert len(names) == 8

    # The seed of one image is the model's fg_map over the scales and
    # flips, kept for its classes and divided by max + 1e-5.
    records = json.loads((trained['data'] / 'train.json').read_text())
    record = records[0]
    name = osp.splitext(osp.basename(record['img']))[0]
    keys, cams = load_cams_npz(str(seeds / 'cams' / f'{name}.npz'))
    assert keys.tolist() == sorted(record['labels'])
    image = cv2.imread(str(trained['data'] / record['img']))
    model = trained['model'].eval()
    ref = multiscale_cams(model, [image], (1.0, 0.5), cam_key='fg_map')
    ref = normalize_cams(ref[0], keys.tolist()).numpy()
    np.testing.assert_allclose(cams.astype(np.float32), ref, atol=1e-3)
    assert cams.shape[1:] == (64, 64)
    # And the strided seeds (IRN's ``cam``) on the 16 x 16 grid.
    _, _, small = load_cams_npz(
        str(seeds / 'cams' / f'{name}.npz'), with_strided=True)
    _, ref_small = multiscale_cams(
        model, [image], (1.0, 0.5), cam_key='fg_map', strided=4)
    ref_small = normalize_cams(ref_small[0], keys.tolist()).numpy()
    np.testing.assert_allclose(small.astype(np.float32), ref_small,
                               atol=1e-3)
    assert meta['fingerprint']['strided'] == 4

    combine = load_tool('combine_cams.py').main
    both = trained['root'] / 'both'
    combine([str(seeds), str(seeds_1x), '--out', str(both), '--no-progress'])
    _, one = load_cams_npz(str(seeds_1x / 'cams' / f'{name}.npz'))
    _, got = load_cams_npz(str(both / 'cams' / f'{name}.npz'))
    total = cams.astype(np.float32) + one.astype(np.float32)
    np.testing.assert_allclose(
        got, total / (total.max((1, 2), keepdims=True) + 1e-5), atol=1e-3
    )

    evaluate = load_tool('analysis_tools/eval_pseudo_labels.py').main
    res = evaluate(
        [str(both), '--sweep', 'bas', '--out-dir', str(both / 'eval')]
    )
    thresholds = [round(r['threshold'], 2) for r in res['curve']]
    assert thresholds == [round(0.2 + 0.01 * i, 2) for i in range(25)]
    assert 0 < res['best']['miou_nanmean'] <= 100
