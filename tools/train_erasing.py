# Copyright (c) mmwsl contributors. All rights reserved.
"""Adversarial erasing (AE): train one classifier per round and mine.

Round t builds an MMEngine Runner with ``work_dir=<root>/round_{t}`` and
``resume=True``; its training images have the regions mined in rounds
``1..t-1`` mean-filled (``mmwsl.ApplyAdversarialErasure``), and
``mmwsl.AEMiningHook`` mines round t at the end of training. The run's
state lives in ``<root>/ae_state.json``; restarting the same command after
a crash (or a kill) continues where it stopped and gives the same masks as
an uninterrupted run. A config whose settings changed is refused.

The config needs an ``adversarial_erasing`` dict (see
``configs/erasing/ae_resnet18_synthetic-wsss.py``).

Example:
    python tools/train_erasing.py configs/erasing/ae_resnet18_synthetic-wsss.py
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch.distributed as torch_dist  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import get_dist_info  # noqa: E402
from mmengine.runner import Runner, find_latest_checkpoint  # noqa: E402

from mmwsl.apis.adversarial_erasing import (  # noqa: E402
    IMAGES_FILE,
    STATE_FILE,
    STATE_FORMAT,
    erase_src_sha,
    get_round,
    json_sha,
    load_state,
    read_done,
    round_dir,
    save_state,
    update_round,
    write_json_atomic,
)
from mmwsl.datasets.transforms.adversarial_erasing import (  # noqa: E402
    image_id,
)
from mmwsl.models.layers.erase_policy import ErasePolicy  # noqa: E402
from mmwsl.registry import DATASETS  # noqa: E402
from mmwsl.utils import register_all_modules  # noqa: E402
from mmwsl.utils.launch import (  # noqa: E402
    close_distributed,
    ensure_safe_checkpoints,
    fix_dataloaders,
    load_config,
    setup_launcher,
)

try:  # short messages for input errors (optional helper)
    from mmwsl.utils.cli import exit_on_user_error
except ImportError:  # pragma: no cover
    import contextlib
    exit_on_user_error = contextlib.nullcontext

AE_DEFAULTS = dict(
    num_rounds=3,
    policy=dict(mode='topk_ratio', ratio=0.2, cmp='ge'),
    reinit_each_round=True,
    auto_stop=False,
    stop_loss_ratio=2.0,
    fill='preprocessor',
    mining=dict(batch_size=1, save_cams='first'),
)
#: Config entries that do not change what a round computes.
VOLATILE_KEYS = ('work_dir', 'resume', 'load_from', 'launcher')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Adversarial erasing: classifier rounds with mining')
    parser.add_argument('config', help='AE config file')
    parser.add_argument(
        '--work-dir', help='run folder (default work_dirs/<config name>)')
    parser.add_argument(
        '--num-rounds', type=int, help='rounds T (default from the config)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def ae_settings(cfg: Config) -> dict:
    if 'adversarial_erasing' not in cfg:
        raise KeyError(
            f'{cfg.filename} has no adversarial_erasing dict; see '
            f'configs/erasing/ae_resnet18_synthetic-wsss.py.')
    ae = copy.deepcopy(AE_DEFAULTS)
    user = cfg.adversarial_erasing.to_dict()
    unknown = set(user) - set(ae)
    if unknown:
        raise KeyError(f'adversarial_erasing has unknown keys '
                       f'{sorted(unknown)}; known: {sorted(ae)}.')
    for key, value in user.items():
        if isinstance(ae[key], dict):
            ae[key].update(value)
        else:
            ae[key] = value
    ErasePolicy(**ae['policy'])  # validates
    return ae


def config_sha(cfg: Config) -> str:
    """sha of the config without run-location entries and the number of
    rounds (more rounds may be added to a finished run)."""
    d = cfg.to_dict()
    for key in VOLATILE_KEYS:
        d.pop(key, None)
    d.get('adversarial_erasing', {}).pop('num_rounds', None)
    return json_sha(d)


def fill_settings(cfg: Config, ae: dict) -> tuple:
    pre = cfg.model.get('data_preprocessor') or {}
    to_rgb = bool(pre.get('to_rgb', False))
    if ae['fill'] == 'preprocessor':
        if 'mean' not in pre:
            raise KeyError('adversarial_erasing.fill="preprocessor" needs '
                           'model.data_preprocessor.mean.')
        return [float(m) for m in pre['mean']], to_rgb
    return [float(m) for m in ae['fill']], to_rgb


def mining_samples(cfg: Config) -> tuple:
    """id, image path and positive classes of every training image, and
    the class names."""
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg['pipeline'] = []
    ds_cfg.pop('lazy_init', None)
    dataset = DATASETS.build(ds_cfg)
    samples, seen = [], {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info['img_path']
        labels = info.get('gt_label')
        if labels is None:
            raise KeyError(f'Training sample {path} has no gt_label.')
        labels = sorted({int(c) for c in
                         (labels if hasattr(labels, '__len__')
                          else [labels])})
        key = image_id(path)
        if key in seen:
            raise ValueError(
                f'Images {seen[key]} and {path} share the id {key!r}; AE '
                f'stores masks by file name, which must be unique.')
        seen[key] = path
        samples.append(dict(id=key, img_path=osp.abspath(path),
                            labels=labels))
    classes = list((dataset.metainfo or {}).get('classes') or [])
    return samples, classes


def init_state(root: str, cfg: Config, ae: dict, num_rounds: int,
               samples: list, classes: list) -> dict:
    sha = config_sha(cfg)
    dataset_sha = json_sha(samples)
    mean, to_rgb = fill_settings(cfg, ae)
    seed = (cfg.get('randomness') or {}).get('seed')
    state = load_state(root)
    if state is not None:
        if state.get('cfg_sha') != sha:
            raise ValueError(
                f'{osp.join(root, STATE_FILE)} was made with another config '
                f'(policy {state.get("policy")}, reinit_each_round '
                f'{state.get("reinit_each_round")}, ...); refusing to '
                f'resume. Use another --work-dir or delete {root}.')
        if state.get('dataset_sha') != dataset_sha:
            raise ValueError(
                f'The training images differ from those of the run in '
                f'{root} (images.json); refusing to resume.')
        state['num_rounds'] = num_rounds
        save_state(root, state)
        return state
    os.makedirs(root, exist_ok=True)
    write_json_atomic(osp.join(root, IMAGES_FILE), dict(
        images=samples,
        classes=classes,
        gt_dir=cfg.get('pseudo_label_gt_dir')))
    state = dict(
        format=STATE_FORMAT, cfg_sha=sha, config=cfg.filename,
        policy=ErasePolicy(**ae['policy']).to_dict(),
        num_rounds=num_rounds, reinit_each_round=ae['reinit_each_round'],
        auto_stop=ae['auto_stop'], stop_loss_ratio=ae['stop_loss_ratio'],
        fill_mean=mean, to_rgb=to_rgb, seed=seed, dataset_sha=dataset_sha,
        num_images=len(samples), stopped_at=None, rounds={})
    save_state(root, state)
    return state


def _set_erasure(pipeline: list, erase_dir, mean, to_rgb) -> list:
    pipeline = [dict(p) for p in pipeline]
    idx = [i for i, p in enumerate(pipeline)
           if str(p.get('type', '')).endswith('ApplyAdversarialErasure')]
    step = dict(type='mmwsl.ApplyAdversarialErasure', erase_dir=erase_dir,
                mean=mean, to_rgb=to_rgb)
    if idx:
        pipeline[idx[0]] = step
    else:
        load = [i for i, p in enumerate(pipeline)
                if 'Load' in str(p.get('type', ''))]
        pipeline.insert(load[0] + 1 if load else 0, step)
    return pipeline


def round_config(cfg: Config, root: str, t: int, state: dict, ae: dict,
                 src_sha: str, launcher: str) -> Config:
    cfg_t = copy.deepcopy(cfg)
    rdir = round_dir(root, t)
    cfg_t.work_dir = rdir
    cfg_t.resume = True
    cfg_t.load_from = None
    cfg_t.experiment_name = f'ae_round{t}_{time.strftime("%Y%m%d_%H%M%S")}'
    seed = state.get('seed')
    cfg_t.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    prev_erase = (osp.join(round_dir(root, t - 1), 'erase')
                  if t > 1 else None)
    ds = cfg_t.train_dataloader.dataset
    ds.pipeline = _set_erasure(ds.pipeline, prev_erase, state['fill_mean'],
                               state['to_rgb'])
    init_from = None
    if not state['reinit_each_round'] and t > 1:
        init_from = t - 1
        if find_latest_checkpoint(rdir) is None:
            cfg_t.resume = False
            cfg_t.load_from = osp.join(round_dir(root, t - 1), 'final.pth')
    save_cams = ae['mining'].get('save_cams', 'first')
    save_cams = (t == 1) if save_cams == 'first' else bool(save_cams)
    hooks = list(cfg_t.get('custom_hooks') or [])
    hooks.append(dict(
        type='mmwsl.AEMiningHook', root=root, round_idx=t,
        policy=state['policy'], erase_src_sha=src_sha,
        mean=state['fill_mean'], to_rgb=state['to_rgb'],
        init_from_round=init_from,
        batch_size=ae['mining'].get('batch_size', 1), save_cams=save_cams,
        auto_stop=state['auto_stop'],
        stop_loss_ratio=state['stop_loss_ratio']))
    cfg_t.custom_hooks = hooks
    fix_dataloaders(cfg_t)
    ensure_safe_checkpoints(cfg_t)
    setup_launcher(cfg_t, launcher)
    return cfg_t


def run_rounds(cfg: Config, root: str, num_rounds: int,
               launcher: str = 'none') -> dict:
    ae = ae_settings(cfg)
    rank, _ = get_dist_info()
    samples, classes = mining_samples(cfg)
    if rank == 0:
        init_state(root, cfg, ae, num_rounds, samples, classes)
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
    state = load_state(root)
    for t in range(1, num_rounds + 1):
        if state.get('stopped_at') is not None:
            break
        r = get_round(state, t)
        if r['status'] == 'done' and read_done(round_dir(root, t)):
            continue
        if r['status'] == 'stopped':
            break
        src_sha = erase_src_sha(root, t)
        if r['erase_src_sha'] not in (None, src_sha):
            raise ValueError(
                f'Round {t} of {root} was started on erased images with '
                f'erase_src_sha {r["erase_src_sha"]}, but round {t - 1} now '
                f'gives {src_sha}. Delete {round_dir(root, t)} to redo it.')
        if rank == 0:
            state = update_round(
                root, t, erase_src_sha=src_sha,
                status='training' if r['status'] == 'new' else r['status'])
        cfg_t = round_config(cfg, root, t, state, ae, src_sha, launcher)
        runner = Runner.from_cfg(cfg_t)
        runner.train()
        if torch_dist.is_available() and torch_dist.is_initialized():
            torch_dist.barrier()
        state = load_state(root)
        status = state['rounds'][str(t)]['status']
        if status not in ('done', 'stopped'):
            raise RuntimeError(f'AE round {t} ended with status {status}.')
    return state


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    root = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    root = osp.abspath(root)
    cfg.work_dir = root
    if args.launcher == 'pytorch':
        setup_launcher(cfg, args.launcher)  # initialises the process group
    num_rounds = args.num_rounds or ae_settings(cfg)['num_rounds']
    state = run_rounds(cfg, root, num_rounds, args.launcher)
    if get_dist_info()[0] == 0:
        for t in range(1, num_rounds + 1):
            r = state['rounds'].get(str(t))
            if r is None:
                break
            stats = r.get('stats') or {}
            print(f'round {t}: {r["status"]}, final loss '
                  f'{r.get("final_loss")}, mean erased fraction '
                  f'{stats.get("mean_erased_fraction")}')
        if state.get('stopped_at'):
            print(f'auto-stopped at round {state["stopped_at"]}')
    close_distributed()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
