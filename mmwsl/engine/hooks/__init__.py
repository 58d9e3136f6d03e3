# Copyright (c) mmwsl contributors. All rights reserved.
from .cam_visualization_hook import CAMVisualizationHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['CAMVisualizationHook', 'SafeCheckpointHook']
