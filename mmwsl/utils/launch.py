# Copyright (c) mmwsl contributors. All rights reserved.
"""Config preparation shared by ``tools/train.py`` and ``tools/test.py``."""
import os
import os.path as osp

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict


def load_config(path: str) -> Config:
    """``Config.fromfile`` with a clear error for a missing file."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Config file {path} does not exist. Config files live under '
            f'configs/, e.g. configs/cam/cam_resnet18_synthetic.py.')
    return Config.fromfile(path)


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare distributed runs, also on machines without a GPU.

    mmengine 0.10.7 initialises ``torch.distributed`` with
    ``torch.cuda.set_device`` and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both fail without CUDA. On such machines
    this initialises a gloo process group first (the Runner then reuses it)
    and builds DDP with ``device_ids=None``.
    """
    if launcher == 'none':
        return
    cfg.launcher = launcher
    if torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs GPUs; on a CPU-only machine run '
            f'with torchrun (tools/dist_train.sh) and --launcher pytorch.')
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise RuntimeError('--launcher pytorch expects the environment set '
                           'by torchrun (RANK, WORLD_SIZE, MASTER_ADDR); '
                           'start it with tools/dist_train.sh.')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    env_cfg['dist_cfg'] = dict(backend='gloo')
    wrapper = ConfigDict(cfg.get('model_wrapper_cfg') or
                         dict(type='MMDistributedDataParallel'))
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    if 'find_unused_parameters' in cfg:
        wrapper.setdefault('find_unused_parameters',
                           cfg.find_unused_parameters)
    cfg.model_wrapper_cfg = wrapper


def close_distributed() -> None:
    """Wait for every rank, then tear the process group down.

    Without this a rank that finishes first exits while the others still
    work, and gloo can then abort them at exit ("terminate called without
    an active exception"). No-op outside distributed runs.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def check_amp(enabled: bool) -> None:
    """Mixed precision in mmengine 0.10.7 needs a GPU (or NPU/MLU/MUSA)."""
    if enabled and not torch.cuda.is_available():
        raise RuntimeError('--amp needs a GPU: mmengine\'s AmpOptimWrapper '
                           'does not run on CPU. Drop --amp on this machine.')


def fix_dataloaders(cfg: Config) -> None:
    """Drop ``persistent_workers`` where ``num_workers == 0`` (it raises)."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False


def _pretrained_inits(node, key: str = 'model'):
    """Yield ``(config key, checkpoint)`` of every ``Pretrained`` init."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and 'checkpoint' in node:
            yield f'{key}.checkpoint', node['checkpoint']
        for name, value in node.items():
            yield from _pretrained_inits(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_inits(value, f'{key}[{i}]')


def check_pretrained_checkpoints(cfg: Config) -> None:
    """Fail early, naming the config key, when a ``Pretrained`` init points
    to a local checkpoint that does not exist (URLs and ``scheme://`` paths
    are left to mmengine)."""
    for key, path in _pretrained_inits(cfg.get('model')):
        if not isinstance(path, str) or '://' in path:
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{key} = {path!r}: no such checkpoint. Train the model that '
                f'writes it first (see the comments of the config and its '
                f'README) or point to another one with --cfg-options '
                f'{key}=PATH.')


def ensure_safe_checkpoints(cfg: Config) -> None:
    """Add ``SafeCheckpointHook`` to ``custom_hooks`` when missing."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any('SafeCheckpointHook' in str(h.get('type', '')) for h in hooks):
        hooks.append(dict(type='mmwsl.SafeCheckpointHook'))
    cfg.custom_hooks = hooks
