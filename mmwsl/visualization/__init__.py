# Copyright (c) mmwsl contributors. All rights reserved.
from .wsol_visualizer import WSOLVisualizer, overlay_cam, write_image_atomic

__all__ = ['WSOLVisualizer', 'overlay_cam', 'write_image_atomic']
