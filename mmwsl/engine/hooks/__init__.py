# Copyright (c) mmwsl contributors. All rights reserved.
from .ae_mining_hook import AEMiningHook
from .c2am_polarity_hook import (
    C2AMPolarityHook,
    border_activation,
    polarity_flag,
)
from .cam_visualization_hook import CAMVisualizationHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'CAMVisualizationHook', 'SafeCheckpointHook', 'C2AMPolarityHook',
    'border_activation', 'polarity_flag', 'AEMiningHook'
]
