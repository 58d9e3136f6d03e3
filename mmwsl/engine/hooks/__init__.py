# Copyright (c) mmwsl contributors. All rights reserved.
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['SafeCheckpointHook']
