# Copyright (c) mmwsl contributors. All rights reserved.
from .bas_head import BASHead
from .cam_head import CAMHead

__all__ = ['CAMHead', 'BASHead']
