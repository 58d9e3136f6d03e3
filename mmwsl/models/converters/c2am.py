# Copyright (c) mmwsl contributors. All rights reserved.
"""Official C²AM checkpoints (CVI-SZU/CCAM) -> mmwsl.

The converted state dict loads strictly into the ``mmwsl.C2AM`` model of
``configs/c2am/c2am_resnet50_*.py``:

=====================================  ====================================
official                               mmwsl
=====================================  ====================================
``backbone.{conv1,bn1,layer1-4}.*``    the same (mmpretrain ``ResNet``)
``ac_head.activation_head.weight``     ``head.activation_head.weight``
``ac_head.bn_head.*``                  ``head.bn_head.*``
the checkpoint's ``Flag`` / ``flag``   ``head.flip`` (+ ``polarity_checked``)
=====================================  ====================================

A head-only state dict (``activation_head.*``, ``bn_head.*`` of the
``Disentangler``) converts to the ``head.*`` keys alone. A ``module.``
prefix (DataParallel/DDP) is stripped. The WSOL (``Flag``), WSSS
(``flag``) and CUSTOM (no flag) checkpoints share the key layout.
"""

import re
import warnings
from collections import OrderedDict
from typing import Any, Mapping, Optional, Tuple

import torch

_FLAG_KEYS = ('Flag', 'flag')


def _new_key(key: str) -> Optional[str]:
    if re.match(r'backbone\.(conv1|bn1|layer[1-4])\.', key):
        return key
    match = re.fullmatch(
        r'(?:ac_head\.)?(activation_head\.weight|'
        r'bn_head\.\w+)',
        key,
    )
    if match:
        return f'head.{match.group(1)}'
    return None


def split_c2am_checkpoint(
    checkpoint: Mapping[str, Any],
) -> Tuple[Mapping[str, torch.Tensor], Optional[bool]]:
    """The state dict and the polarity flag of an official checkpoint.

    Args:
        checkpoint: The loaded file: ``{'state_dict': ..., 'Flag': ...}``
            (WSOL), ``{'state_dict': ..., 'flag': ...}`` (WSSS) or a bare
            state dict (CUSTOM).

    Returns:
        tuple: the state dict and the flag as a bool (None when the
        checkpoint stores none). The flag may be a 0-dim tensor (on the
        training device) or a Python bool.
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(
            f'Expected a dict in the checkpoint, got '
            f'{type(checkpoint).__name__}.'
        )
    flag = None
    for key in _FLAG_KEYS:
        if key in checkpoint:
            flag = bool(checkpoint[key])
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            'The checkpoint has a "state_dict" entry that is not a dict.'
        )
    return state_dict, flag


def convert_c2am(
    state_dict: Mapping[str, Any], flip: Optional[bool] = None
) -> 'OrderedDict[str, Any]':
    """Convert an official C²AM state dict (or checkpoint) to mmwsl names.

    Args:
        state_dict: The official ``Network.state_dict()`` (324 tensors), a
            head-only ``Disentangler`` state dict, or a whole official
            checkpoint holding one under ``state_dict`` together with its
            ``Flag``/``flag``.
        flip: The polarity decision (True: the object is ``1 - P``).
            Defaults to the checkpoint's flag; without one, ``head.flip``
            is set to True (the reference code's value before its check)
            and ``head.polarity_checked`` to False, with a warning.

    Returns:
        State dict for ``mmwsl.C2AM`` including the ``head.flip`` and
        ``head.polarity_checked`` buffers.

    Raises:
        ValueError: for keys that belong to no part of the official model
            (they are listed), or two keys mapping to one.
    """
    state_dict, stored = split_c2am_checkpoint(state_dict)
    if flip is None:
        flip = stored
    converted: OrderedDict[str, Any] = OrderedDict()
    unexpected = []
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.') :]
        if key in _FLAG_KEYS:
            continue
        new_key = _new_key(key)
        if new_key is None:
            unexpected.append(key)
        elif new_key in converted:
            raise ValueError(
                f'Two official keys map to {new_key!r} (one is '
                f'{key!r}); is the checkpoint a mix of '
                f'models?'
            )
        else:
            converted[new_key] = value
    if unexpected:
        more = (
            f' (and {len(unexpected) - 20} more)'
            if len(unexpected) > 20
            else ''
        )
        raise ValueError(
            f'{len(unexpected)} keys of the checkpoint are not '
            f'part of an official C²AM model: '
            f'{", ".join(unexpected[:20])}{more}.'
        )
    if 'head.activation_head.weight' not in converted:
        raise ValueError(
            'The checkpoint holds no C²AM head '
            '(ac_head.activation_head.weight).'
        )
    if flip is None:
        warnings.warn(
            'The checkpoint stores no polarity flag (a CUSTOM '
            'checkpoint?); head.flip is set to True, the '
            'reference default before its check. Pass flip= or '
            'run the polarity check.',
            stacklevel=2,
        )
    converted['head.flip'] = torch.tensor(True if flip is None else flip)
    converted['head.polarity_checked'] = torch.tensor(flip is not None)
    return converted
