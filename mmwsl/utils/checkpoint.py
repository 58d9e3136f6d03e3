# Copyright (c) mmwsl contributors. All rights reserved.
"""Safe checkpoint I/O for torch >= 2.6 (weights-only unpickling).

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; torch >= 2.6
then refuses its checkpoints because the message hub stores
``HistoryBuffer`` objects whose ``statistics_methods`` pickle as
``builtins.getattr`` calls. mmwsl never unpickles arbitrary objects instead:

- :class:`~mmwsl.engine.hooks.SafeCheckpointHook` stores every
  ``HistoryBuffer`` as a plain dict of tensors when a checkpoint is saved;
- :func:`load_checkpoint_safely` (installed as mmengine's loader for local
  files) unpickles with ``weights_only=True`` and an allow-list of the numpy
  types mmengine keeps in checkpoint metadata, then rebuilds the buffers.

A checkpoint that needs anything else (for example a file crafted to run code
when unpickled) is refused with :class:`UnsafeCheckpointError`.
"""
import os.path as osp
import pickle
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_BUFFER_TAG = '__mmwsl_history_buffer__'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the weights-only allow-list."""


def _numpy_globals() -> list:
    from numpy._core import multiarray
    dtypes = [type(np.dtype(c)) for c in '?bBhHiIlLqQefdgFDGSUVO']
    return [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar
            ] + dtypes


SAFE_GLOBALS = _numpy_globals()


def history_buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """Turn a ``HistoryBuffer`` into a dict of plain values and tensors."""
    log, count = buffer.data
    return {
        _BUFFER_TAG: 1,
        'max_length': int(buffer.max_length),
        'log_history': torch.from_numpy(np.asarray(log, np.float64)),
        'count_history': torch.from_numpy(np.asarray(count, np.int64)),
    }


def plain_to_history_buffer(state: dict) -> HistoryBuffer:
    """Inverse of :func:`history_buffer_to_plain`."""
    return HistoryBuffer(state['log_history'].numpy().tolist(),
                         state['count_history'].numpy().tolist(),
                         state['max_length'])


def sanitize_checkpoint(checkpoint: dict) -> dict:
    """Replace the message hub's ``HistoryBuffer`` objects in place."""
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and 'log_scalars' in hub:
        hub['log_scalars'] = {
            k: history_buffer_to_plain(v) if isinstance(v, HistoryBuffer)
            else v
            for k, v in hub['log_scalars'].items()
        }
    return checkpoint


def restore_checkpoint(checkpoint: Any) -> Any:
    """Rebuild the ``HistoryBuffer`` objects of a sanitized checkpoint."""
    hub = checkpoint.get('message_hub') if isinstance(checkpoint,
                                                       dict) else None
    if isinstance(hub, dict) and isinstance(hub.get('log_scalars'), dict):
        hub['log_scalars'] = {
            k: plain_to_history_buffer(v)
            if isinstance(v, dict) and v.get(_BUFFER_TAG) else v
            for k, v in hub['log_scalars'].items()
        }
    return checkpoint


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Union[str,
                                                        Callable]] = None):
    """Load a local checkpoint with weights-only unpickling.

    Raises:
        FileNotFoundError: if ``filename`` does not exist.
        UnsafeCheckpointError: if the file needs objects outside the
            allow-list (tensors, containers, plain values, numpy arrays,
            dtypes and scalars).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file {filename} not found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            checkpoint = torch.load(filename, map_location=map_location,
                                    weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {filename}: it holds objects that '
            f'weights-only loading does not allow, so unpickling it could '
            f'run arbitrary code. Checkpoints saved by mmwsl never need '
            f'them. If you trust the file, re-save its state_dict with '
            f'plain tensors. Detail: {first[0] if first else e}') from None
    return restore_checkpoint(checkpoint)


def install_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints through
    :func:`load_checkpoint_safely` (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_checkpoint_safely)
