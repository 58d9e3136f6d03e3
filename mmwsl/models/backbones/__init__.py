# Copyright (c) mmwsl contributors. All rights reserved.
from .adl_backbone import ADLBackbone
from .forward_steps import forward_steps, run_steps, split_steps
from .inception_v3 import WSOLInceptionV3
from .mobilenet_v1 import MobileNetV1
