# Copyright (c) mmwsl contributors. All rights reserved.
"""Multi-label CAM head/classifier, multi-scale CAM inference, label rules
and the pseudo-label writer."""

import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample

from mmwsl.apis import (
    PseudoLabelWriter,
    cams_to_pseudo_label,
    image_names,
    load_cams_npz,
    multiscale_cams,
    normalize_cams,
)
from mmwsl.apis.pseudo_label import encode_cams_npz
from mmwsl.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY = dict(
    type='mmwsl.MultiLabelCAMClassifier',
    data_preprocessor=dict(
        num_classes=3,
        to_onehot=True,
        mean=[120.0, 110.0, 100.0],
        std=[50.0, 50.0, 50.0],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(3,),
    ),
    head=dict(type='mmwsl.MultiLabelCAMHead', num_classes=3, in_channels=64),
)


def tiny_model():
    torch.manual_seed(0)
    return MODELS.build(TINY).eval()


def test_head_loss_is_multilabel_soft_margin():
    model = MODELS.build(TINY)
    model.train()
    inputs = torch.rand(2, 3, 32, 32) * 255
    samples = [
        DataSample().set_gt_label([0, 2]),
        DataSample().set_gt_label([1]),
    ]
    data = model.data_preprocessor(
        dict(inputs=list(inputs.byte()), data_samples=samples), True
    )
    losses = model(**data, mode='loss')
    logits = model(data['inputs'], mode='tensor')['cls_score']
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    expected = F.multilabel_soft_margin_loss(logits, target)
    assert torch.allclose(losses['loss'], expected, atol=1e-6)
    losses['loss'].backward()
    trainable = [
        (n, p) for n, p in model.named_parameters() if p.requires_grad
    ]
    assert all(p.grad is not None for _, p in trainable)


def test_tensor_and_predict_outputs():
    model = tiny_model()
    x = torch.randn(2, 3, 64, 48)
    out = model(x, mode='tensor')
    assert out['cls_score'].shape == (2, 3)
    assert out['cams'].shape == (2, 3, 4, 3)  # output stride 16
    assert (out['cams'] >= 0).all()
    # The score is the GAP of the (pre-ReLU) class maps.
    feats = model.extract_feat(x)
    raw = model.head.classifier(feats[-1])
    assert torch.allclose(out['cls_score'], raw.mean((2, 3)), atol=1e-5)
    assert torch.allclose(out['cams'], raw.clamp_min(0))
    preds = model(x, mode='predict')
    assert preds[0].pred_score.shape == (3,)
    with pytest.raises(ValueError, match='in_channels'):
        model.head.forward_tensor((torch.randn(1, 5, 2, 2),))


def test_multiscale_cams_flip_and_scales():
    model = tiny_model()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    one = multiscale_cams(model, [img], scales=(1.0,), flip=False)
    assert one.shape == (1, 3, 64, 48) and (one >= 0).all()
    # Mirroring the input mirrors the flip-summed maps (exactly when the
    # size is a multiple of the output stride: IRN crops the upsampled
    # maps at the bottom/right).
    both = multiscale_cams(model, [img], scales=(1.0, 0.5), flip=True)
    mirrored = multiscale_cams(
        model,
        [np.ascontiguousarray(img[:, ::-1])],
        scales=(1.0, 0.5),
        flip=True,
    )
    assert torch.allclose(both, mirrored.flip(-1), atol=1e-4)
    # Two images of one size in a batch give their separate results.
    img2 = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    pair = multiscale_cams(model, [img, img2], scales=(1.0, 1.5))
    alone = multiscale_cams(model, [img2], scales=(1.0, 1.5))
    assert torch.allclose(pair[1], alone[0], atol=1e-4)
    with pytest.raises(ValueError, match='one size'):
        multiscale_cams(model, [img, img2[:20]])
    norm = normalize_cams(both[0], [2, 0])
    assert norm.shape == (2, 64, 48)
    assert torch.allclose(
        norm[0].max(), both[0, 2].max() / (both[0, 2].max() + 1e-5)
    )
    with pytest.raises(ValueError, match='out of range'):
        normalize_cams(both[0], [3])


def test_multiscale_cams_strided_maps():
    """IRN's ``cam`` seeds: each scale's maps upsampled straight to the
    stride-4 grid ``((H - 1) // 4 + 1, (W - 1) // 4 + 1)`` and summed."""
    from mmwsl.apis.random_walk import strided_seeds
    model = tiny_model()
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (50, 45, 3), dtype=np.uint8)
    full = multiscale_cams(model, [img], scales=(1.0, 1.5), flip=False)
    same, small = multiscale_cams(
        model, [img], scales=(1.0, 1.5), flip=False, strided=4
    )
    assert torch.equal(same, full)  # the full-resolution maps unchanged
    assert small.shape == (1, 3, 13, 12)
    expected = 0
    for scale in (1.0, 1.5):
        size = (round(45 * scale), round(50 * scale))
        x = img if scale == 1 else cv2.resize(
            img, size, interpolation=cv2.INTER_CUBIC)
        x = torch.from_numpy(x).permute(2, 0, 1)
        data = model.data_preprocessor(dict(inputs=[x]), False)
        with torch.no_grad():
            raw = model(data['inputs'], mode='tensor')['cams'].clamp_min(0)
        expected = expected + F.interpolate(
            raw, (13, 12), mode='bilinear', align_corners=False
        )
    torch.testing.assert_close(small, expected, rtol=1e-5, atol=1e-6)
    # Side a multiple of 16 at scale 1: the same as averaging the
    # full-resolution maps over the 4 x 4 cells.
    img = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    full, small = multiscale_cams(
        model, [img], scales=(1.0,), flip=True, strided=4
    )
    torch.testing.assert_close(
        small[0], strided_seeds(full[0]), rtol=1e-5, atol=1e-5
    )


def test_label_rules():
    cams = np.array(
        [[[0.9, 0.25, 0.2, 0.1]], [[0.1, 0.2, 0.25, 0.5]]], np.float32
    )
    assert cams_to_pseudo_label(cams, [3, 5], 0.25).tolist() == [[4, 0, 0, 6]]
    # IRN confident labels: foreground at 0.3, background at 0.15.
    conf = cams_to_pseudo_label(cams, [3, 5], ignore_thresholds=(0.3, 0.15))
    assert conf.tolist() == [[4, 255, 255, 6]]
    cams2 = np.array([[[0.9, 0.1, 0.0]]], np.float32)
    assert cams_to_pseudo_label(
        cams2, [1], ignore_thresholds=(0.3, 0.15)
    ).tolist() == [[2, 0, 0]]
    # (1 - max)^alpha background: 0.1^1 < 0.9, 0.9 > 0.1.
    assert cams_to_pseudo_label(cams2, [1], bg_alpha=1).tolist() == [[2, 0, 0]]
    # A background score map (e.g. C2AM's background cue) replaces t.
    cue = np.array([[0.95, 0.05, 0.5]])
    assert cams_to_pseudo_label(cams2, [1], bg_score=cue).tolist() == [
        [0, 2, 0]
    ]
    with pytest.raises(ValueError, match='does not match'):
        cams_to_pseudo_label(cams2, [1], bg_score=cue[:, :2])
    with pytest.raises(ValueError, match='fg > bg'):
        cams_to_pseudo_label(cams2, [1], ignore_thresholds=(0.1, 0.3))


def test_dense_crf():
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        from mmwsl.apis import dense_crf

        with pytest.raises(ImportError, match='pip install pydensecrf2'):
            dense_crf(
                np.zeros((4, 4, 3), np.uint8), np.ones((2, 4, 4), np.float32)
            )
        pytest.skip(
            'pydensecrf2 is not installed: the CRF itself is '
            'untested here (the missing-package error is).'
        )
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 255
    cams = np.zeros((1, 20, 20), np.float32)
    cams[0, :, 8:] = 0.9
    label = cams_to_pseudo_label(
        cams,
        [0],
        0.25,
        crf=dict(
            iters=10,
            gauss_sxy=3,
            gauss_compat=3,
            bilateral_sxy=80,
            bilateral_srgb=13,
            bilateral_compat=10,
        ),
        image=img,
    )
    assert label[:, 15:].min() == 1 and label[:, :5].max() == 0


def test_npz_files_are_deterministic(tmp_path):
    keys = np.array([1, 4])
    cams = np.random.default_rng(0).random((2, 5, 6)).astype(np.float16)
    data = encode_cams_npz(keys, cams)
    assert data == encode_cams_npz(keys, cams)
    path = tmp_path / 'a.npz'
    path.write_bytes(data)
    k, c = load_cams_npz(str(path))
    np.testing.assert_array_equal(k, keys)
    np.testing.assert_array_equal(c, cams)
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(encode_cams_npz(np.array([1, 2, 3]), cams))
    with pytest.raises(ValueError, match=r'bad.npz: expected keys \(K,\)'):
        load_cams_npz(str(bad))
    # Strided maps ride along and are checked against the keys.
    small = cams[:, :2, :2]
    path.write_bytes(encode_cams_npz(keys, cams, small))
    k, c, st = load_cams_npz(str(path), with_strided=True)
    np.testing.assert_array_equal(st, small)
    assert len(load_cams_npz(str(path))) == 2
    bad.write_bytes(encode_cams_npz(keys, cams, small[:1]))
    with pytest.raises(ValueError, match=r'bad.npz: expected strided maps'):
        load_cams_npz(str(bad), with_strided=True)
    (tmp_path / 'junk.npz').write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='Cannot read CAM file .*junk'):
        load_cams_npz(str(tmp_path / 'junk.npz'))


def test_writer_folder_rules(tmp_path):
    root, names, suffix = image_names(
        [
            str(tmp_path / 'img' / 'a' / 'x.jpg'),
            str(tmp_path / 'img' / 'b' / 'y.jpg'),
        ]
    )
    assert root == str(tmp_path / 'img') and suffix == '.jpg'
    assert names == ['a/x', 'b/y']
    with pytest.raises(ValueError, match='several extensions'):
        image_names(['a/x.jpg', 'a/y.png'])

    def writer(out, **kw):
        return PseudoLabelWriter(
            str(out),
            dict(model='m'),
            ['c0', 'c1'],
            root,
            suffix,
            split='train',
            label_cfg=dict(bg_threshold=0.3, **kw),
        )

    out = tmp_path / 'out'
    w = writer(out)
    w.prepare()
    w.write('a/x', np.full((1, 3, 4), 0.5, np.float32), [1])
    assert w.is_done('a/x') and not w.is_done('b/y')
    assert w.finalize(names) == ['b/y']  # incomplete: nothing finalised
    assert not osp.exists(w.split_file)
    with pytest.raises(ValueError, match='b/y: class keys must be in'):
        w.write('b/y', np.zeros((1, 3, 4), np.float32), [2])
    w.write('b/y', np.zeros((0, 3, 4), np.float32), [])
    assert w.finalize(names) == []
    assert open(w.split_file).read() == 'a/x\nb/y\n'
    snippet = Config.fromfile(str(out / 'pseudo_label_dataset.py'))
    assert snippet.pseudo_label_data_prefix['seg_map_path'] == str(
        out / 'ann_dir'
    )
    before = {
        f: os.path.getmtime(osp.join(dp, f))
        for dp, _, fs in os.walk(out)
        for f in fs
    }
    # Same settings: adopted; other settings: refused, nothing touched.
    writer(out).prepare()
    with pytest.raises(FileExistsError, match='label_cfg'):
        writer(out, bg_alpha=2.0).prepare()
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not empty and has no'):
        writer(tmp_path / 'other').prepare()
    after = {
        f: os.path.getmtime(osp.join(dp, f))
        for dp, _, fs in os.walk(out)
        for f in fs
    }
    assert before == after
    # A writer with a stride stores strided maps of the grid size and
    # records the stride in its fingerprint.
    sw = PseudoLabelWriter(
        str(tmp_path / 'strided'), dict(model='m'), ['c0', 'c1'], root,
        suffix, label_cfg=None, strided=4)
    sw.prepare()
    cams = np.full((1, 9, 6), 0.5, np.float32)
    with pytest.raises(ValueError, match='a/x: this writer saves strided'):
        sw.write('a/x', cams, [1])
    with pytest.raises(ValueError, match=r'do not fit maps \(1, 9, 6\) at '
                       r'stride 4 \(expected \(1, 3, 2\)\)'):
        sw.write('a/x', cams, [1], strided=np.zeros((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r'a/x \(strided maps\): .*NaN'):
        sw.write('a/x', cams, [1], strided=np.full((1, 3, 2), np.nan))
    sw.write('a/x', cams, [1], strided=np.full((1, 3, 2), 0.25))
    _, _, st = load_cams_npz(sw.cam_path('a/x'), with_strided=True)
    assert st.dtype == np.float16 and st.shape == (1, 3, 2)
    assert sw.fingerprint['strided'] == 4 and 'strided' not in w.fingerprint
    with pytest.raises(ValueError, match='saves none'):
        PseudoLabelWriter(str(tmp_path / 'plain'), dict(model='m'),
                          ['c0', 'c1'], root, suffix).write(
                              'a/x', cams, [1], strided=st)
    # A stale temporary file of a killed run is removed on restart.
    stale = out / 'ann_dir' / 'a' / '.x.png.999.tmp'
    stale.write_bytes(b'half')
    writer(out).prepare()
    assert not stale.exists()


def test_wsss_configs_build(tmp_path):
    """Every WSSS config loads; the CAM classifiers and the synthetic
    segmentor build (the large MMSeg segmentors are stock MMSeg models:
    only what the configs change is checked)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS as SEG_DATASETS

    configs = sorted(
        f
        for f in os.listdir(osp.join(REPO, 'configs/wsss'))
        if f.endswith('.py')
    )
    assert len(configs) >= 8
    for name in configs:
        cfg = Config.fromfile(osp.join(REPO, 'configs/wsss', name))
        model_cfg = cfg.model
        if name.startswith('cam_'):
            assert 'pseudo_label_dataset' in cfg and 'pseudo_label_cfg' in cfg
            model_cfg.backbone.init_cfg = None  # no download
            with DefaultScope.overwrite_default_scope(cfg.default_scope):
                model = MODELS.build(model_cfg)
            assert model.num_classes == cfg.num_classes, name
            continue
        ds = cfg.train_dataloader.dataset
        assert ds.data_prefix.seg_map_path.endswith('/ann_dir'), name
        assert '/splits/' in ds.ann_file, name
        assert cfg.default_scope == 'mmseg'
        assert 'mmwsl' in cfg.custom_imports.imports
        num = {'voc12': 21, 'coco14': 81, 'synthetic': 5}
        key = next(k for k in num if k in name)
        assert model_cfg.decode_head.num_classes == num[key], name
        assert SEG_DATASETS.get(ds.type) is not None, name
        if 'synthetic' in name:
            with DefaultScope.overwrite_default_scope('mmseg'):
                model = MODELS.build(model_cfg)
            assert model.decode_head.num_classes == 5


def load_tool(relpath):
    path = osp.join(REPO, 'tools', relpath)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.basename(relpath)[:-3], path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_tool_on_handmade_folder(tmp_path):
    """Sweep on two hand-made CAM files; a CAM file of the wrong shape is
    named in the error."""
    import cv2

    cams_dir, gt_dir = tmp_path / 'cams', tmp_path / 'gt'
    cams_dir.mkdir()
    gt_dir.mkdir()
    gt = np.zeros((4, 4), np.uint8)
    gt[:2] = 2  # class 1
    gt[3, 3] = 255
    cam = np.zeros((1, 4, 4), np.float16)
    cam[0, :2] = 0.5
    cam[0, 2] = 0.25  # exact in float16
    (cams_dir / 'a.npz').write_bytes(encode_cams_npz(np.array([1]), cam))
    cv2.imwrite(str(gt_dir / 'a.png'), gt)
    main = load_tool('analysis_tools/eval_pseudo_labels.py').main
    res = main(
        [
            str(cams_dir),
            '--gt-dir',
            str(gt_dir),
            '--num-classes',
            '3',
            '--thresholds',
            '0.1',
            '0.7',
            '0.2',
            '--out-dir',
            str(tmp_path / 'ev'),
        ]
    )
    curve = {round(r['threshold'], 2): r for r in res['curve']}
    # t = 0.3: perfect (IoU 1, 1; class 1 absent -> nanmean 100, mean
    # 66.7); t = 0.1: row 2 becomes class 2 too (bg IoU 3/7, fg 8/12);
    # t = 0.5: 0.5 is not > 0.5, all background (bg IoU 7/15, fg 0).
    assert curve[0.3]['miou_nanmean'] == pytest.approx(100.0)
    assert curve[0.3]['miou_mean'] == pytest.approx(200 / 3)
    assert curve[0.1]['miou_nanmean'] == pytest.approx(50 * (3 / 7 + 8 / 12))
    assert curve[0.5]['miou_nanmean'] == pytest.approx(50 * 7 / 15)
    assert res['best']['threshold'] == pytest.approx(0.3)
    assert (tmp_path / 'ev' / 'miou_curve.png').is_file()
    big = np.zeros((1, 5, 4), np.float16)
    (cams_dir / 'a.npz').write_bytes(encode_cams_npz(np.array([1]), big))
    with pytest.raises(ValueError, match=r'a.npz has maps of size \(5, 4\)'):
        main([str(cams_dir), '--gt-dir', str(gt_dir), '--num-classes', '3'])


def test_benchmark_tool(tmp_path):
    main = load_tool('analysis_tools/benchmark_cam_inference.py').main
    res = main(
        [
            osp.join(REPO, 'configs/wsss/cam_resnet18_synthetic-wsss.py'),
            '--num-images',
            '2',
            '--warmup',
            '1',
            '--size',
            '48',
            '32',
            '--out',
            str(tmp_path / 'b.json'),
        ]
    )
    assert res['scales'] == [1.0, 0.5, 1.5, 2.0] and res['flip']
    assert res['network_img_per_s'] > 0
    assert (tmp_path / 'b.json').is_file()
