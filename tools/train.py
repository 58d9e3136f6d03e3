# Copyright (c) mmwsl contributors. All rights reserved.
"""Train a model with an mmwsl (or mixed mmwsl/MMPretrain/MMSeg) config."""
import argparse
import os
import os.path as osp
import sys

# Run against this checkout even when another mmwsl is installed.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402
from mmwsl.utils.launch import (  # noqa
    check_amp,
    check_pretrained_checkpoints,
    close_distributed,
    ensure_safe_checkpoints,
    fix_dataloaders,
    load_config,
    setup_launcher,
)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a value, resume '
        'from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (GPU only)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Apply command-line options to the config."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    check_amp(args.amp)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=256))
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    fix_dataloaders(cfg)
    check_pretrained_checkpoints(cfg)
    ensure_safe_checkpoints(cfg)
    setup_launcher(cfg, args.launcher)
    return cfg


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(load_config(args.config), args)
    runner = Runner.from_cfg(cfg)
    runner.train()
    close_distributed()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
