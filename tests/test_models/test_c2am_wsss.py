# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM background cues and CAM refinement (spec section 5 and the
refinement example of section 9), with pseudo-label mIoU from a confusion
matrix."""

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsl.apis.c2am_wsss import (
    background_cues,
    c2am_multiscale_map,
    crf_inference_label,
    label_confusion,
    refine_with_background_cues,
)
from mmwsl.registry import MODELS


def test_refinement_example():
    cams = np.full((1, 1, 1), 0.4)
    keys = [0, 15]
    # Cue 200: background score 1 - 200/255 = 0.2157 < 0.4 -> the class.
    assert (
        refine_with_background_cues(cams, keys, np.array([[200]], np.uint8))[
            0, 0
        ]
        == 15
    )
    # Cue 50: background score 0.8039 > 0.4 -> background.
    assert (
        refine_with_background_cues(cams, keys, np.array([[50]], np.uint8))[
            0, 0
        ]
        == 0
    )
    # Constant background threshold; background wins ties.
    assert refine_with_background_cues(cams, keys, 0.3)[0, 0] == 15
    assert refine_with_background_cues(cams, keys, 0.4)[0, 0] == 0


def test_refinement_argmax_over_classes_and_errors():
    cams = np.stack([np.array([[0.9, 0.2]]), np.array([[0.5, 0.6]])])
    labels = refine_with_background_cues(
        cams, [0, 3, 8], np.array([[0, 0]], np.uint8)
    )
    # Cue 0 = background score 1: background everywhere.
    np.testing.assert_array_equal(labels, [[0, 0]])
    labels = refine_with_background_cues(
        cams, [0, 3, 8], np.array([[255, 255]], np.uint8)
    )
    np.testing.assert_array_equal(labels, [[3, 8]])
    with pytest.raises(ValueError, match='keys'):
        refine_with_background_cues(cams, [0, 3], 0.5)
    with pytest.raises(ValueError, match='shape'):
        refine_with_background_cues(
            cams, [0, 3, 8], np.zeros((2, 2), np.uint8)
        )
    with pytest.raises(TypeError, match='uint8'):
        refine_with_background_cues(cams, [0, 3, 8], np.zeros((1, 2)))


def _miou(preds, gts, num_classes):
    """mIoU (CCAM style: +1e-10, mean over all classes) from a confusion
    matrix accumulated pixel by pixel."""
    conf = np.zeros((num_classes, num_classes))
    for pred, gt in zip(preds, gts):
        for p, g in zip(pred.ravel(), gt.ravel()):
            if g != 255:
                conf[g, p] += 1
    tp = np.diag(conf)
    iou = tp / (conf.sum(0) + conf.sum(1) - tp + 1e-10)
    return iou.mean(), conf


def test_cue_refinement_improves_pseudo_label_miou():
    # One image, GT: class 1 (key 1) in the left two columns, background
    # elsewhere, one ignored pixel. The class CAM over-activates the
    # background (0.35), so a constant threshold of 0.3 labels everything
    # as the class; the cues (255 on the object, 0 on the background, one
    # object pixel missed with 50) separate them.
    gt = np.zeros((4, 4), np.int64)
    gt[:, :2] = 1
    gt[3, 3] = 255
    cam = np.where(gt == 1, 0.4, 0.35)[None]
    cue = np.where(gt == 1, 200, 50).astype(np.uint8)
    cue[0, 0] = 50
    keys = [0, 1]

    constant = refine_with_background_cues(cam, keys, 0.3)
    miou, conf = _miou([constant], [gt], 2)
    np.testing.assert_array_equal(conf, [[0, 7], [0, 8]])
    assert miou == pytest.approx((0 + 8 / 15) / 2)

    refined = refine_with_background_cues(cam, keys, cue)
    miou, conf = _miou([refined], [gt], 2)
    np.testing.assert_array_equal(conf, [[7, 0], [1, 7]])
    assert miou == pytest.approx((7 / 8 + 7 / 8) / 2)

    # label_confusion gives the same matrix (ignore excluded).
    np.testing.assert_array_equal(label_confusion(refined, gt, 2), conf)
    # 21 VOC classes, absent ones counting 0 (mean, not nanmean).
    miou21, _ = _miou([refined], [gt], 21)
    assert miou21 == pytest.approx(2 * (7 / 8) / 21)
    with pytest.raises(ValueError, match='outside'):
        label_confusion(np.full((4, 4), 30), gt, 21)


def test_background_cues_threshold():
    hr_cam = np.array([[0.1, 0.3], [0.31, 0.9]], np.float32)
    cues = background_cues(hr_cam, threshold=0.3, crf_iterations=0)
    assert cues.dtype == np.uint8
    np.testing.assert_array_equal(cues, [[0, 0], [255, 255]])
    with pytest.raises(ValueError, match='image'):
        background_cues(hr_cam, threshold=0.3, crf_iterations=10)


def test_crf_missing_dependency_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pydensecrf', None)
    monkeypatch.setitem(sys.modules, 'pydensecrf.densecrf', None)
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        crf_inference_label(
            np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.int64)
        )


def test_crf_refines_cues():
    pytest.importorskip(
        'pydensecrf.densecrf',
        reason='pydensecrf (pip install pydensecrf2) is not installed',
    )
    # A bright square on a dark image; the thresholded map misses a corner
    # of it and has a speck outside: the CRF follows the image.
    image = np.zeros((40, 40, 3), np.uint8)
    image[10:30, 10:30] = 220
    hr_cam = np.zeros((40, 40), np.float32)
    hr_cam[12:30, 10:30] = 0.9
    hr_cam[2, 2] = 0.9
    cues = background_cues(hr_cam, image, threshold=0.3, crf_iterations=10)
    assert cues[10, 20] == 255 and cues[2, 2] == 0
    assert (cues[10:30, 10:30] == 255).mean() > 0.95


def _tiny_model():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='mmwsl.C2AM',
            data_preprocessor=dict(
                mean=[128.0] * 3, std=[64.0] * 3, to_rgb=True
            ),
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                stem_channels=8,
                base_channels=8,
                strides=(1, 2, 2, 1),
                out_indices=(2, 3),
            ),
            head=dict(type='mmwsl.C2AMHead', in_channels=96),
        )
    )
    return model.eval()


def test_multiscale_map_single_scale_by_hand():
    model = _tiny_model()
    model.head.set_polarity(True)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)
    out = c2am_multiscale_map(model, image, scales=(1.0,))
    assert out.shape == (40, 56) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() < 1

    # By hand: BGR -> RGB, normalise, logits of the image and its mirror.
    x = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1).float()
    x = ((x - 128) / 64)[None]
    with torch.no_grad():
        z = model.foreground_logits(torch.cat([x, x.flip(-1)]))[:, 0]
    m = (1 - z).relu()  # reference flip on the logits
    summed = m[0] + m[1].flip(-1)
    up = F.interpolate(
        summed[None, None], size=(48, 64), mode='bilinear', align_corners=False
    )[0, 0, :40, :56]
    expected = (up / (up.max() + 1e-5)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)

    negate = c2am_multiscale_map(
        model, image, scales=(1.0,), flip_rule='negate'
    )
    assert not np.allclose(negate, out)
    model.head.set_polarity(False)
    kept = c2am_multiscale_map(model, image, scales=(1.0,), flip=False)
    up = F.interpolate(
        z[0].relu()[None, None],
        size=(48, 64),
        mode='bilinear',
        align_corners=False,
    )[0, 0, :40, :56]
    np.testing.assert_allclose(
        kept, (up / (up.max() + 1e-5)).numpy(), atol=1e-5
    )


def test_multiscale_map_reference_scales():
    model = _tiny_model()
    image = np.random.default_rng(1).integers(
        0, 255, (33, 47, 3), dtype=np.uint8
    )
    out = c2am_multiscale_map(model, image)
    assert out.shape == (33, 47)
    assert 0.99 < out.max() < 1
    with pytest.raises(ValueError, match='flip_rule'):
        c2am_multiscale_map(model, image, flip_rule='other')


def _tool(name):
    import importlib.util
    import os.path as osp

    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        name, osp.join(root, 'tools', name + '.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_refine_tool(tmp_path):
    import cv2

    gt = np.zeros((4, 4), np.uint8)
    gt[:, :2] = 1
    gt[3, 3] = 255
    cue = np.where(gt == 1, 200, 50).astype(np.uint8)
    cue[0, 0] = 50
    for folder in ('cams', 'cues', 'gt'):
        (tmp_path / folder).mkdir()
    # keys: 0-based class 0 -> label 1.
    np.savez(
        tmp_path / 'cams' / 'img1.npz',
        keys=np.array([0]),
        cam=np.where(gt == 1, 0.4, 0.35)[None].astype(np.float32),
    )
    cv2.imwrite(str(tmp_path / 'cues' / 'img1.png'), cue)
    cv2.imwrite(str(tmp_path / 'gt' / 'img1.png'), gt)
    out = _tool('c2am_refine_cams').main(
        [
            '--cams',
            str(tmp_path / 'cams'),
            '--cues',
            str(tmp_path / 'cues'),
            '--gt',
            str(tmp_path / 'gt'),
            '--num-classes',
            '2',
            '--out-dir',
            str(tmp_path / 'out'),
        ]
    )
    assert out['miou'] == pytest.approx(100 * 7 / 8)
    assert out['sweep'][0.3] == pytest.approx(100 * (8 / 15) / 2)
    label = cv2.imread(
        str(tmp_path / 'out' / 'img1.png'), cv2.IMREAD_UNCHANGED
    )
    np.testing.assert_array_equal(label[:, :2].sum(), 7)


def test_background_cue_tool(tmp_path):
    import cv2

    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        cv2.imwrite(
            str(images / f'{name}.png'),
            rng.integers(0, 255, (24, 40, 3), dtype=np.uint8),
        )
    config = tmp_path / 'cfg.py'
    config.write_text(f"""
default_scope = 'mmwsl'
model = dict(
    type='mmwsl.C2AM',
    data_preprocessor=dict(mean=[128.] * 3, std=[64.] * 3, to_rgb=True),
    backbone=dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                  base_channels=8, strides=(1, 2, 2, 1), out_indices=(2, 3)),
    head=dict(type='mmwsl.C2AMHead', in_channels=96))
train_dataloader = dict(dataset=dict(type='mmwsl.ImageFolderDataset',
                                     data_root={str(images)!r}))
test_dataloader = dict(dataset=dict(pipeline=[]))
cue_cfg = dict(scales=(1.0, 0.5), threshold=0.3, crf_iterations=0)
""")
    model = _tiny_model()
    model.head.set_polarity(False)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'c2am.pth')
    out_dir = tmp_path / 'cues'
    _tool('c2am_background_cues').main(
        [
            str(config),
            str(tmp_path / 'c2am.pth'),
            '--out-dir',
            str(out_dir),
            '--save-maps',
        ]
    )
    for name in ('a', 'b'):
        cue = cv2.imread(str(out_dir / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        assert cue.shape == (24, 40)
        assert set(np.unique(cue)) <= {0, 255}
        hr_cam = np.load(out_dir / 'maps' / f'{name}.npy')
        expected = c2am_multiscale_map(
            model, cv2.imread(str(images / f'{name}.png')), (1.0, 0.5)
        )
        np.testing.assert_allclose(hr_cam, expected, atol=1e-6)
        np.testing.assert_array_equal(cue, (hr_cam > 0.3) * 255)
