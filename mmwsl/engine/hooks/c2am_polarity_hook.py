# Copyright (c) mmwsl contributors. All rights reserved.
"""Which side of the C²AM map is the object: the polarity check."""

from typing import Optional, Sequence

import torch
from mmengine.dist import broadcast, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmwsl.registry import HOOKS

#: Settings of the reference training scripts (spec section 2.6).
POLARITY_VARIANTS = dict(
    # WSOL (CUB, ILSVRC): last iteration of epoch 0, image 0 binarised,
    # 1-pixel border.
    wsol=dict(iteration=None, binarize=True, first_only=True, border=1),
    # WSSS (VOC12): last iteration of epoch 0, whole batch, continuous,
    # 4-pixel strips.
    wsss=dict(iteration=None, binarize=False, first_only=False, border=4),
    # CUSTOM folder: iteration 100 of epoch 0, as WSOL otherwise.
    custom=dict(iteration=100, binarize=True, first_only=True, border=1),
)


def border_activation(
    ccam: torch.Tensor,
    binarize: bool = True,
    first_only: bool = True,
    border: int = 1,
) -> float:
    """Mean activation of the map's border strips.

    The mean of four means: the top ``border`` rows, the left ``border``
    columns, the bottom rows and the right columns (corners count in two
    strips), taken over image 0 only (``first_only``) or the whole batch,
    on the map itself or on its binarisation ``P > 0.5``.

    Args:
        ccam: ``(B, 1, h, w)`` or ``(B, h, w)`` training map ``P``.
        binarize: Binarise at 0.5 first.
        first_only: Use only the first image of the batch.
        border: Strip width in pixels.

    Returns:
        float: the border activation in ``[0, 1]``.
    """
    maps = ccam.detach().float()
    if maps.dim() == 4:
        if maps.size(1) != 1:
            raise ValueError(
                f'Expected a one-channel map, got {tuple(ccam.shape)}.'
            )
        maps = maps[:, 0]
    if maps.dim() != 3:
        raise ValueError(
            f'Expected a (B, 1, h, w) or (B, h, w) map, got '
            f'{tuple(ccam.shape)}.'
        )
    if border < 1:
        raise ValueError(f'border must be >= 1, got {border}.')
    if first_only:
        maps = maps[:1]
    if binarize:
        maps = (maps > 0.5).float()
    strips = (
        maps[:, :border, :],
        maps[:, :, :border],
        maps[:, -border:, :],
        maps[:, :, -border:],
    )
    return float(sum(s.mean() for s in strips) / 4)


def polarity_flag(
    ccam: torch.Tensor,
    binarize: bool = True,
    first_only: bool = True,
    border: int = 1,
    threshold: float = 0.5,
) -> bool:
    """The reference ``check_positive``: True (flip, the object is
    ``1 - P``) when :func:`border_activation` exceeds ``threshold``, i.e.
    the map has latched onto the background at the image border."""
    return border_activation(ccam, binarize, first_only, border) > threshold


@HOOKS.register_module()
class C2AMPolarityHook(Hook):
    """Decide once which side of the C²AM map is the foreground.

    The contrastive loss is symmetric in foreground and background, so the
    learned map ``P`` may cover the object or the background. Early in
    training this hook looks at the training-mode map of one iteration
    (computed by the forward of that iteration, before the optimizer step)
    and, if its image border is mostly active, sets the head's ``flip``
    buffer: every later prediction then uses ``1 - P``. The decision is
    saved with the model's state dict and applied at inference.

    ``variant`` picks the settings of a reference training script; the
    explicit arguments override them:

    ==========  ==================  ========  ===========  ======
    variant     when                binarize  images       border
    ==========  ==================  ========  ===========  ======
    ``wsol``    last iter., epoch   yes       first image  1 px
    ``wsss``    last iter., epoch   no        whole batch  4 px
    ``custom``  iteration 100       yes       first image  1 px
    ==========  ==================  ========  ===========  ======

    The reference WSOL/CUSTOM check binarises the training map in place;
    here it works on a detached copy, which changes nothing downstream (the
    map is not used after the step). With ``iteration`` set and an epoch
    shorter than that, the check never runs and ``flip`` keeps its initial
    value (True), as in the reference code; the hook warns at the end of
    the epoch.

    Args:
        variant: ``'wsol'``, ``'wsss'`` or ``'custom'``.
        epoch: The (0-based) epoch in which the check runs.
        iteration: The (0-based) iteration inside that epoch; None for the
            last one; -1 (default) for the variant's.
        binarize: Binarise the map at 0.5 first (default: the variant's).
        first_only: Look at the first image of the batch only (default:
            the variant's).
        border: Width of the border strips in pixels (default: the
            variant's).
        threshold: Flip when the border activation exceeds it.
        broadcast: Under distributed training, use rank 0's decision on
            every rank (the reference code keeps one flag per rank and saves
            rank 0's).
        rerun: Check again even if the loaded model says the decision was
            already made.
    """

    priority = 'LOW'

    def __init__(
        self,
        variant: str = 'wsol',
        epoch: int = 0,
        iteration: Optional[int] = -1,
        binarize: Optional[bool] = None,
        first_only: Optional[bool] = None,
        border: Optional[int] = None,
        threshold: float = 0.5,
        broadcast: bool = True,
        rerun: bool = False,
    ):
        if variant not in POLARITY_VARIANTS:
            raise ValueError(
                f'variant must be one of '
                f'{sorted(POLARITY_VARIANTS)}, got '
                f'{variant!r}.'
            )
        settings = dict(POLARITY_VARIANTS[variant])
        # -1 means "the variant's default"; None means "last iteration".
        if iteration != -1:
            settings['iteration'] = iteration
        for key, value in (
            ('binarize', binarize),
            ('first_only', first_only),
            ('border', border),
        ):
            if value is not None:
                settings[key] = value
        self.variant = variant
        self.epoch = epoch
        self.iteration = settings['iteration']
        self.binarize = settings['binarize']
        self.first_only = settings['first_only']
        self.border = settings['border']
        self.threshold = threshold
        self.broadcast = broadcast
        self.rerun = rerun
        self._done = False

    @staticmethod
    def _head(runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        head = getattr(model, 'head', None)
        if head is None or not hasattr(head, 'set_polarity'):
            raise TypeError(
                f'{C2AMPolarityHook.__name__} needs a model '
                f'whose head records the polarity (C2AMHead), '
                f'got {type(model).__name__}.'
            )
        return head

    def before_train(self, runner) -> None:
        head = self._head(runner)
        self._done = bool(head.polarity_checked) and not self.rerun

    def _due(self, runner, batch_idx: int) -> bool:
        if self._done or runner.epoch != self.epoch:
            return False
        if self.iteration is None:
            return self.end_of_epoch(runner.train_dataloader, batch_idx)
        return batch_idx == self.iteration

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[Sequence] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        if not self._due(runner, batch_idx):
            return
        head = self._head(runner)
        if head.last_train_map is None:
            raise RuntimeError(
                'The C²AM head has no training map to '
                'check; the polarity hook must run after a '
                'training step of the C²AM model.'
            )
        value = border_activation(
            head.last_train_map, self.binarize, self.first_only, self.border
        )
        # uint8: broadcastable by every backend (NCCL included).
        flip = torch.tensor(
            int(value > self.threshold),
            dtype=torch.uint8,
            device=head.flip.device,
        )
        if self.broadcast and is_distributed():
            broadcast(flip, src=0)
        head.set_polarity(bool(flip))
        self._done = True
        runner.logger.info(
            f'C²AM polarity check (epoch {runner.epoch}, iteration '
            f'{batch_idx}): border activation {value:.4f} -> '
            f'{"foreground = 1 - P" if bool(flip) else "foreground = P"}.'
        )

    def after_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch and not self._done:
            runner.logger.warning(
                f'The C²AM polarity check was due at iteration '
                f'{self.iteration} of epoch {self.epoch}, which has fewer '
                f'iterations; the map keeps flip='
                f'{bool(self._head(runner).flip)}.'
            )
