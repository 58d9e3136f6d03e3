# Copyright (c) mmwsl contributors. All rights reserved.
from .c2am_polarity_hook import (
    C2AMPolarityHook,
    border_activation,
    polarity_flag,
)
from .cam_visualization_hook import CAMVisualizationHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['CAMVisualizationHook', 'SafeCheckpointHook']
__all__ += ['C2AMPolarityHook', 'border_activation', 'polarity_flag']
from .ae_mining_hook import AEMiningHook  # noqa: E402

__all__ += ['AEMiningHook']
