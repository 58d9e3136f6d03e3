# Copyright (c) mmwsl contributors. All rights reserved.
"""Mining step of adversarial erasing, run at the end of each round."""
import os
import os.path as osp
import shutil
import signal
from collections import deque
from typing import Optional, Sequence

import torch.distributed as torch_dist
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from mmwsl.apis.adversarial_erasing import (
    IMAGES_FILE,
    RoundFiles,
    file_sha256,
    finalize_round,
    load_state,
    mine_images,
    read_done,
    read_json,
    round_dir,
    save_state,
    update_round,
)
from mmwsl.datasets.transforms.adversarial_erasing import fill_value
from mmwsl.models.layers.erase_policy import ErasePolicy
from mmwsl.registry import HOOKS

#: Fault injection for resume tests: ``"<round>:train:<iter>"`` kills the
#: process (SIGKILL) right after that training iteration (1-based, counted
#: over the whole round) of that round; ``"<round>:mine:<n>"`` after this
#: process has written n mined images of that round.
KILL_ENV = 'MMWSL_AE_KILL_AFTER'


def _kill_point(round_idx: int, phase: str) -> Optional[int]:
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return None
    try:
        r, p, n = spec.split(':')
        r, n = int(r), int(n)
    except ValueError:
        raise ValueError(f'{KILL_ENV}={spec!r}: expected '
                         f'"<round>:train|mine:<count>".') from None
    return n if (r == round_idx and p == phase) else None


def _barrier() -> None:
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()


@HOOKS.register_module()
class AEMiningHook(Hook):
    """Bookkeeping and mining of one adversarial-erasing round.

    ``tools/train_erasing.py`` adds this hook to each round's Runner.

    * Training: records the mean training loss of the last epoch (or of
      the last ``loss_window`` iterations of an iteration-based loop).
    * ``before_save_checkpoint``: stores ``meta['ae'] = {round,
      erase_src_sha, policy, loss}`` in every checkpoint.
    * ``after_load_checkpoint``: raises when a checkpoint of this round was
      trained on another erased dataset (``erase_src_sha``) or with another
      policy, or belongs to another round (except round ``init_from_round``
      when fine-tuning from the previous classifier).
    * ``after_train``: copies the final checkpoint to ``final.pth``, marks
      the round ``mining`` in ``ae_state.json`` (with the checkpoint's sha;
      mined files of another checkpoint are deleted), applies the optional
      auto-stop, then mines every training image in eval mode at its
      original size and writes ``MINING_DONE.json`` last; the round becomes
      ``done``. Images already mined (by a killed run) are skipped.

    Args:
        root: the AE run folder (holds ``ae_state.json``, ``images.json``).
        round_idx: this round t (1-based).
        policy: :class:`~mmwsl.models.layers.ErasePolicy` fields.
        erase_src_sha: ``files_sha`` of round t-1's mining (``'none'`` for
            round 1).
        mean: data preprocessor mean (the fill value).
        to_rgb: whether the data preprocessor flips BGR to RGB.
        init_from_round: the round whose checkpoint may be loaded as
            initial weights (fine-tuning), or None.
        batch_size: images of one size per mining forward pass.
        save_cams: also save the normalised CAMs (float16) of this round.
        auto_stop: stop (no mining, round ``stopped``) when this round's
            final loss exceeds ``stop_loss_ratio`` times round 1's.
        stop_loss_ratio: see ``auto_stop``.
        loss_window: iterations averaged for the final loss of
            iteration-based loops.
        progress: print a mining progress line.
    """

    priority = 'LOW'

    def __init__(self,
                 root: str,
                 round_idx: int,
                 policy: dict,
                 erase_src_sha: str,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 to_rgb: bool = True,
                 init_from_round: Optional[int] = None,
                 batch_size: int = 1,
                 save_cams: bool = False,
                 auto_stop: bool = False,
                 stop_loss_ratio: float = 2.0,
                 loss_window: int = 50,
                 progress: bool = True):
        self.root = root
        self.round_idx = int(round_idx)
        self.policy = ErasePolicy(**policy)
        self.erase_src_sha = erase_src_sha
        self.fill = fill_value(mean, to_rgb)
        self.init_from_round = init_from_round
        self.batch_size = batch_size
        self.save_cams = save_cams
        self.auto_stop = auto_stop
        self.stop_loss_ratio = stop_loss_ratio
        self.progress = progress
        self._epoch_losses = []
        self._window = deque(maxlen=loss_window)
        self.last_loss = None

    # training ---------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        self._epoch_losses = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if outputs is not None and 'loss' in outputs:
            value = float(outputs['loss'].detach())
            self._epoch_losses.append(value)
            self._window.append(value)
            if not runner.train_loop.__class__.__name__.startswith('Epoch'):
                self.last_loss = sum(self._window) / len(self._window)
        kill = _kill_point(self.round_idx, 'train')
        if kill is not None and runner.iter + 1 >= kill:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_epoch(self, runner) -> None:
        if self._epoch_losses:
            self.last_loss = sum(self._epoch_losses) / len(
                self._epoch_losses)

    # checkpoints --------------------------------------------------------
    def _meta(self) -> dict:
        return dict(round=self.round_idx, erase_src_sha=self.erase_src_sha,
                    policy=self.policy.to_dict(), loss=self.last_loss)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['ae'] = self._meta()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        ae = (checkpoint.get('meta') or {}).get('ae')
        if ae is None:
            runner.logger.warning(
                'Loaded a checkpoint without adversarial-erasing metadata; '
                'its round and erased training set cannot be checked.')
            return
        r = int(ae.get('round', -1))
        if r == self.round_idx:
            if ae.get('erase_src_sha') != self.erase_src_sha:
                raise ValueError(
                    f'Checkpoint of AE round {r} was trained on the erased '
                    f'images with erase_src_sha {ae.get("erase_src_sha")}, '
                    f'but {osp.join(self.root, "ae_state.json")} expects '
                    f'{self.erase_src_sha}: the previous round\'s masks '
                    f'changed. Delete {round_dir(self.root, r)} to retrain '
                    f'this round.')
            if ae.get('policy') != self.policy.to_dict():
                raise ValueError(
                    f'Checkpoint of AE round {r} was made with erase policy '
                    f'{ae.get("policy")}, not {self.policy.to_dict()}.')
            if ae.get('loss') is not None:
                self.last_loss = float(ae['loss'])
        elif self.init_from_round is None or r != self.init_from_round:
            raise ValueError(
                f'Checkpoint of AE round {r} loaded in round '
                f'{self.round_idx}; only round {self.init_from_round} may '
                f'initialise it.')

    # mining -------------------------------------------------------------
    def _final_checkpoint(self, runner) -> str:
        rdir = round_dir(self.root, self.round_idx)
        latest = find_latest_checkpoint(runner.work_dir)
        if latest is None:
            raise FileNotFoundError(
                f'AE round {self.round_idx} finished training but '
                f'{runner.work_dir} has no checkpoint; keep the '
                f'CheckpointHook (save_last=True).')
        final = osp.join(rdir, 'final.pth')
        if not (osp.isfile(final)
                and file_sha256(final) == file_sha256(latest)):
            tmp = osp.join(rdir, f'.final.pth.{os.getpid()}.tmp')
            shutil.copyfile(latest, tmp)
            os.replace(tmp, final)
        return final

    def after_train(self, runner) -> None:
        rank, world_size = get_dist_info()
        t = self.round_idx
        files = RoundFiles(round_dir(self.root, t), self.save_cams)
        state = load_state(self.root)
        if state is None:
            raise FileNotFoundError(
                f'No ae_state.json in {self.root}; AEMiningHook runs inside '
                f'tools/train_erasing.py.')
        if rank == 0:
            final = self._final_checkpoint(runner)
            sha = file_sha256(final)
            r = state['rounds'][str(t)]
            if r.get('final_ckpt_sha') not in (None, sha):
                # The mined files belong to another classifier.
                files.clear()
            loss1 = state['rounds'].get('1', {}).get('final_loss')
            if t == 1:
                loss1 = self.last_loss
            stop = (self.auto_stop and t > 1 and loss1 is not None
                    and self.last_loss is not None
                    and self.last_loss > self.stop_loss_ratio * loss1)
            state = update_round(
                self.root, t, status='stopped' if stop else 'mining',
                final_ckpt=osp.relpath(final, self.root),
                final_ckpt_sha=sha, final_loss=self.last_loss,
                erase_src_sha=self.erase_src_sha)
            if stop:
                state['stopped_at'] = t
                save_state(self.root, state)
                runner.logger.info(
                    f'AE auto-stop: round {t} final loss {self.last_loss:.4f}'
                    f' > {self.stop_loss_ratio} x round 1 ({loss1:.4f}); '
                    f'its regions are not used.')
        _barrier()
        state = load_state(self.root)
        if state['rounds'][str(t)]['status'] == 'stopped':
            return
        if state['rounds'][str(t)]['status'] == 'done' and read_done(
                files.dir) is not None:
            return
        samples = read_json(osp.join(self.root, IMAGES_FILE))['images']
        prev = (RoundFiles(round_dir(self.root, t - 1)).erase_dir
                if t > 1 else None)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if rank == 0:
            files.clean_temp()
        kill = _kill_point(t, 'mine')

        def on_written(n: int) -> None:
            if kill is not None and n >= kill:
                os.kill(os.getpid(), signal.SIGKILL)

        was_training = model.training
        model.eval()
        try:
            result = mine_images(model, samples, files, self.policy,
                                 self.fill, prev, self.batch_size, rank,
                                 world_size, self.progress and rank == 0,
                                 on_written)
        finally:
            model.train(was_training)
        runner.logger.info(
            f'AE round {t}: mined {result["done"]} images, '
            f'{result["skipped"]} already done (rank {rank}).')
        _barrier()
        if rank == 0:
            done = finalize_round(files, samples, t,
                                  dict(final_ckpt_sha=state['rounds'][str(
                                      t)]['final_ckpt_sha'],
                                       erase_src_sha=self.erase_src_sha,
                                       policy=self.policy.to_dict()))
            update_round(self.root, t, status='done', stats=done['stats'],
                         files_sha=done['files_sha'])
            stats = done['stats']
            runner.logger.info(
                f'AE round {t} done: mean erased fraction '
                f'{stats["mean_erased_fraction"]:.4f} (new '
                f'{stats["mean_new_fraction"]:.4f}), files_sha '
                f'{done["files_sha"][:12]}.')
        _barrier()
