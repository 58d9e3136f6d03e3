# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM polarity check (spec section 2.6 and the examples of section 9)."""

import copy
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mmwsl.engine.hooks import (
    C2AMPolarityHook,
    border_activation,
    polarity_flag,
)
from mmwsl.registry import HOOKS, MODELS
from mmwsl.utils import load_checkpoint_safely


def _map(values):
    return torch.tensor(values, dtype=torch.float32)[None, None]


def test_wsol_rule_examples():
    # Top row 0.9, everything else 0.2: binarised borders are top 1,
    # left 0.25, bottom 0, right 0.25 -> 0.375, keep P.
    p = torch.full((4, 4), 0.2)
    p[0] = 0.9
    assert border_activation(p[None, None]) == pytest.approx(0.375)
    assert polarity_flag(p[None, None]) is False
    # 0.8 on all borders, 0.1 inside: flip (use 1 - P).
    q = torch.full((4, 4), 0.8)
    q[1:3, 1:3] = 0.1
    assert polarity_flag(q[None, None]) is True
    # Only image 0 counts.
    batch = torch.stack([p[None], q[None]])
    assert polarity_flag(batch) is False
    assert polarity_flag(torch.stack([q[None], p[None]])) is True


def test_wsss_rule_example():
    maps = torch.full((3, 1, 8, 8), 0.6)
    assert border_activation(
        maps, binarize=False, first_only=False, border=4
    ) == pytest.approx(0.6)
    assert polarity_flag(maps, binarize=False, first_only=False, border=4)
    # Binarised, 0.6 is also > 0.5; continuous 0.4 is not.
    assert not polarity_flag(
        maps - 0.2, binarize=False, first_only=False, border=4
    )


def test_wsss_rule_uses_whole_batch_and_strips():
    first = torch.zeros(1, 1, 8, 8)
    second = torch.ones(1, 1, 8, 8)
    batch = torch.cat([first, second])
    assert border_activation(
        batch, binarize=False, first_only=False, border=4
    ) == pytest.approx(0.5)
    assert not polarity_flag(batch, binarize=False, first_only=False, border=4)
    strips = torch.zeros(1, 1, 10, 10)
    strips[:, :, :4] = 1  # top strip only
    # top 1, left 0.4, bottom 0, right 0.4 -> 0.45
    assert border_activation(
        strips, binarize=False, border=4
    ) == pytest.approx(0.45)


def test_variants_and_errors():
    hook = HOOKS.build(dict(type='C2AMPolarityHook', variant='wsss'))
    assert (hook.iteration, hook.binarize, hook.first_only, hook.border) == (
        None,
        False,
        False,
        4,
    )
    hook = C2AMPolarityHook(variant='custom')
    assert hook.iteration == 100 and hook.binarize and hook.border == 1
    hook = C2AMPolarityHook(variant='custom', iteration=None, border=2)
    assert hook.iteration is None and hook.border == 2
    with pytest.raises(ValueError, match='variant'):
        C2AMPolarityHook(variant='voc')
    with pytest.raises(ValueError, match='one-channel'):
        border_activation(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='border'):
        border_activation(torch.zeros(1, 1, 4, 4), border=0)


MODEL = dict(
    type='mmwsl.C2AM',
    data_preprocessor=dict(mean=[128.0] * 3, std=[64.0] * 3, to_rgb=True),
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


def _runner(tmp_path, hooks, epochs=1, batch_size=2, num_images=6):
    folder = tmp_path / 'images'
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(num_images):
        cv2.imwrite(
            str(folder / f'{i}.png'),
            rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
        )
    return Runner(
        model=copy.deepcopy(MODEL),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='mmwsl.ImageFolderDataset',
                data_root=str(folder),
                pipeline=[
                    dict(type='mmwsl.LoadImageWithCheck'),
                    dict(type='mmwsl.PackWSOLInputs'),
                ],
            ),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1),
        ),
        custom_hooks=[dict(type='mmwsl.SafeCheckpointHook')] + hooks,
        default_scope='mmwsl',
        randomness=dict(seed=0),
    )


def test_hook_in_training_saves_decision(tmp_path):
    runner = _runner(
        tmp_path, [dict(type='mmwsl.C2AMPolarityHook', variant='wsol')]
    )
    head = runner.model.head
    assert bool(head.flip) and not bool(head.polarity_checked)
    runner.train()
    # One epoch: the last training map is the one checked.
    expected = polarity_flag(head.last_train_map)
    assert bool(head.polarity_checked)
    assert bool(head.flip) == expected

    ckpt = load_checkpoint_safely(osp.join(runner.work_dir, 'epoch_1.pth'))
    assert bool(ckpt['state_dict']['head.flip']) == expected
    assert bool(ckpt['state_dict']['head.polarity_checked'])

    model = MODELS.build(copy.deepcopy(MODEL))
    model.load_state_dict(ckpt['state_dict'], strict=True)
    model.eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        p = model(x, mode='tensor')['ccam'][0, 0]
        sample = model.predict(x)[0]
    torch.testing.assert_close(sample.c2am_map, 1 - p if expected else p)


def test_hook_never_due_keeps_default(tmp_path):
    runner = _runner(
        tmp_path,
        [dict(type='mmwsl.C2AMPolarityHook', variant='custom')],
        num_images=4,
    )
    runner.train()
    head = runner.model.head
    assert bool(head.flip) and not bool(head.polarity_checked)


def test_hook_runs_at_given_iteration(tmp_path):
    record = {}

    class Spy(C2AMPolarityHook):
        def after_train_iter(
            self, runner, batch_idx, data_batch=None, outputs=None
        ):
            if batch_idx == 1 and runner.epoch == 0:
                record['map'] = runner.model.head.last_train_map.clone()
            super().after_train_iter(runner, batch_idx, data_batch, outputs)

    runner = _runner(
        tmp_path,
        [Spy(variant='custom', iteration=1)],
        batch_size=1,
        num_images=3,
    )
    runner.train()
    head = runner.model.head
    assert bool(head.polarity_checked)
    assert bool(head.flip) == polarity_flag(record['map'])
