# Copyright (c) mmwsl contributors. All rights reserved.
from mmengine.hooks import Hook

from mmwsl.registry import HOOKS
from mmwsl.utils.checkpoint import sanitize_checkpoint


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Store checkpoints so that weights-only unpickling can load them.

    Runs last before a checkpoint is written and replaces the message hub's
    ``HistoryBuffer`` objects by plain tensors (see
    :mod:`mmwsl.utils.checkpoint`). ``tools/train.py`` adds it to every
    run; add ``dict(type='mmwsl.SafeCheckpointHook')`` to ``custom_hooks``
    when training through another entry point.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        sanitize_checkpoint(checkpoint)
