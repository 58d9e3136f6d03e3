# Copyright (c) mmwsl contributors. All rights reserved.
"""Evaluate a checkpoint with an mmwsl config."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.cli import exit_on_user_error  # noqa: E402
from mmwsl.utils.launch import (  # noqa: E402
    check_amp,
    close_distributed,
    fix_dataloaders,
    load_config,
    setup_launcher,
)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a '
                                     'model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs/metrics')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir',
        help='save CAM overlays with boxes to this folder (relative paths '
        'are taken inside the run folder)')
    parser.add_argument(
        '--show', action='store_true', help='show overlays in a window')
    parser.add_argument(
        '--interval', type=int, default=1, help='draw every n-th sample')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (GPU only)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=8')
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
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint {args.checkpoint} not found.')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    check_amp(args.amp)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.show or args.show_dir:
        hooks = cfg.default_hooks
        hooks.visualization = dict(
            hooks.get('visualization') or {},
            type=hooks.get('visualization', {}).get(
                'type', 'mmwsl.CAMVisualizationHook'),
            enable=True,
            interval=args.interval)
        if args.show_dir:
            hooks.visualization.out_dir = args.show_dir
    if args.out:
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator,
                                                  (list, tuple)) else [
                                                      evaluator]
        evaluator.append(dict(type='DumpResults', out_file_path=args.out))
        cfg.test_evaluator = evaluator
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    fix_dataloaders(cfg)
    setup_launcher(cfg, args.launcher)
    return cfg


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(load_config(args.config), args)
    runner = Runner.from_cfg(cfg)
    # Load strictly up front: a checkpoint of another model is an error,
    # not a warning followed by meaningless metrics.
    try:
        runner.load_checkpoint(args.checkpoint, strict=True)
    except RuntimeError as e:
        raise RuntimeError(
            f'Checkpoint {args.checkpoint} does not match the model of '
            f'{args.config}:\n{e}') from None
    metrics = runner.test()
    runner.logger.info('Test metrics: ' + ', '.join(
        f'{k}: {v:.2f}' if isinstance(v, float) else f'{k}: {v}'
        for k, v in metrics.items()))
    close_distributed()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
