# Copyright (c) mmwsl contributors. All rights reserved.
"""AE pseudo-label assembly (specs/erasing.md 1.8, T7, T8) and the tool."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from mmwsl.apis.adversarial_erasing import (
    RoundFiles,
    assemble_ae_label,
    encode_mask_png,
    encode_regions,
    finalize_round,
    round_dir,
    save_state,
    write_bytes_atomic,
    write_json_atomic,
)
from mmwsl.apis.pseudo_label import encode_cams_npz

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import ae_make_pseudo_labels  # noqa: E402

DOG, PERSON = 11, 14  # 0-based; labels 12 and 15
F1 = np.array([[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 0, 0],
               [0, 0, 1, 0, 0]], bool)
F2 = np.zeros((4, 5), bool)
F2[0, 2] = F2[1, 1] = F2[1, 3] = F2[2, 3] = True
S = np.array([[.05, .3, .6, .5, .02], [.08, .9, .9, .7, .05],
              [.2, .9, .95, .8, .4], [.01, .3, .7, .2, .03]])
T7 = [[0, 255, 12, 255, 0], [0, 12, 12, 12, 0], [255, 12, 12, 12, 255],
      [0, 255, 12, 255, 0]]


def test_t7_label_rule():
    m_dog = F1 | F2
    label = assemble_ae_label(m_dog[None], [DOG], S < 0.1)
    assert label.tolist() == T7
    values, counts = np.unique(label, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == {0: 6, 12: 8,
                                                           255: 6}
    # no background cue: every non-mined pixel is ignored
    none = assemble_ae_label(m_dog[None], [DOG], None)
    assert (none[~m_dog] == 255).all() and (none[m_dog] == 12).all()


def test_t8_conflict():
    m_dog = F1 | F2
    m_person = np.zeros((4, 5), bool)
    m_person[2, 2] = m_person[2, 3] = True
    masks = np.stack([m_dog, m_person])
    label = assemble_ae_label(masks, [DOG, PERSON], S < 0.1)
    expected = np.array(T7)
    expected[2, 2] = expected[2, 3] = 255
    assert label.tolist() == expected.tolist()
    cams = np.stack([np.full((4, 5), 0.5), np.zeros((4, 5))])
    cams[1, 2, 3] = 0.9
    label = assemble_ae_label(masks, [DOG, PERSON], S < 0.1, 'argmax', cams)
    assert label[2, 2] == 12 and label[2, 3] == 15
    with pytest.raises(ValueError, match='cams'):
        assemble_ae_label(masks, [DOG, PERSON], None, 'argmax')


def _ae_root(tmp_path):
    """A finished two-round AE run of one 4x5 image labelled dog."""
    root = str(tmp_path / 'ae')
    img = tmp_path / 'images' / 'im1.png'
    img.parent.mkdir()
    cv2.imwrite(str(img), np.full((4, 5, 3), 90, np.uint8))
    samples = [dict(id='im1', img_path=str(img), labels=[DOG])]
    write_json_atomic(osp.join(root, 'images.json'), dict(
        images=samples, classes=[f'c{i}' for i in range(20)], gt_dir=None))
    state = dict(cfg_sha='x', dataset_sha='y', num_rounds=2, rounds={})
    erased = np.zeros((4, 5), bool)
    for t, f in ((1, F1), (2, F2)):
        files = RoundFiles(round_dir(root, t), save_cams=t == 1)
        erased |= f
        write_bytes_atomic(files.regions('im1'), encode_regions([DOG],
                                                                f[None]))
        write_bytes_atomic(files.erase('im1'), encode_mask_png(erased))
        if t == 1:
            cam = np.zeros((1, 4, 5), np.float16)
            cam[0, 0, 0] = 1
            write_bytes_atomic(files.cams('im1'), encode_cams_npz(
                np.array([DOG]), cam))
        done = finalize_round(files, samples, t)
        state['rounds'][str(t)] = dict(status='done',
                                       files_sha=done['files_sha'])
    save_state(root, state)
    sal = tmp_path / 'sal'
    sal.mkdir()
    np.save(str(sal / 'im1.npy'), S)
    return root, str(sal)


def test_tool_writes_mmseg_folder(tmp_path):
    root, sal = _ae_root(tmp_path)
    out = str(tmp_path / 'labels')
    argv = [root, '--out', out, '--saliency-dir', sal, '--bg-threshold',
            '0.1', '--no-progress']
    manifest = ae_make_pseudo_labels.make_labels(
        ae_make_pseudo_labels.parse_args(argv))
    label = cv2.imread(osp.join(out, 'ann_dir', 'im1.png'),
                       cv2.IMREAD_UNCHANGED)
    assert label.tolist() == T7
    assert open(osp.join(out, 'splits', 'train.txt')).read() == 'im1\n'
    assert json.load(open(osp.join(out, 'image_labels.json'))) == {
        'im1': [DOG]}
    assert manifest['rounds'] == [1, 2]
    assert manifest['label_fractions'] == {'0': 0.3, '12': 0.4, '255': 0.3}
    assert json.load(open(osp.join(out, 'MANIFEST.json')))['bg_threshold'] \
        == 0.1
    assert osp.isfile(osp.join(out, 'pseudo_label_dataset.py'))
    # round 1 only: the T2 region
    out1 = str(tmp_path / 'labels1')
    ae_make_pseudo_labels.make_labels(ae_make_pseudo_labels.parse_args(
        [root, '--out', out1, '--rounds', '1', '--background', 'none',
         '--no-progress']))
    label1 = cv2.imread(osp.join(out1, 'ann_dir', 'im1.png'),
                        cv2.IMREAD_UNCHANGED)
    assert (label1 == 12).tolist() == F1.tolist()
    assert (label1[~F1] == 255).all()
    # CAM background: only (0, 0) has CAM >= 0.5, the rest is background
    out2 = str(tmp_path / 'labels2')
    ae_make_pseudo_labels.make_labels(ae_make_pseudo_labels.parse_args(
        [root, '--out', out2, '--background', 'cam', '--cam-threshold',
         '0.5', '--no-progress']))
    label2 = cv2.imread(osp.join(out2, 'ann_dir', 'im1.png'),
                        cv2.IMREAD_UNCHANGED)
    assert label2[0, 0] == 255 and label2[0, 1] == 0
    assert (label2 == 12).sum() == 8
    # other settings on the same folder are refused, nothing changes
    with pytest.raises(FileExistsError, match='bg_threshold|label_cfg'):
        ae_make_pseudo_labels.make_labels(ae_make_pseudo_labels.parse_args(
            [root, '--out', out, '--saliency-dir', sal, '--bg-threshold',
             '0.2', '--no-progress']))
    with pytest.raises(ValueError, match='not finished'):
        ae_make_pseudo_labels.make_labels(ae_make_pseudo_labels.parse_args(
            [root, '--out', str(tmp_path / 'x'), '--rounds', '3',
             '--background', 'none']))
    with pytest.raises(SystemExit):
        ae_make_pseudo_labels.parse_args([root, '--out', out])
