# Copyright (c) mmwsl contributors. All rights reserved.
"""Every config in configs/ loads and builds its model on CPU."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmwsl.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p.split(osp.sep))


def test_configs_are_found():
    assert len(CONFIGS) >= 2


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds_model(path):
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') in ('mmwsl', 'mmseg', 'mmpretrain')
    for key in ('train_dataloader', 'val_evaluator', 'optim_wrapper'):
        assert key in cfg, f'{path} has no {key}'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model).eval()
    n = sum(p.numel() for p in model.parameters())
    assert n > 0
    size = 128 if 'inception' not in path else 160
    with torch.no_grad():
        out = model(torch.rand(1, 3, size, size), mode='tensor')
    assert out is not None


def test_every_config_folder_has_readme_and_metafile():
    import yaml
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    folders = sorted({osp.dirname(osp.relpath(p, ROOT)) for p in CONFIGS})
    for folder in folders:
        assert osp.isfile(osp.join(ROOT, folder, 'README.md')), folder
        metafile = f'{folder}/metafile.yml'
        assert metafile in imports, f'model-index.yml lacks {metafile}'
        with open(osp.join(ROOT, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            assert osp.isfile(osp.join(ROOT, model['Config'])), model['Config']
            assert osp.basename(model['Config']) == model['Name'] + '.py'
