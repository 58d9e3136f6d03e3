# Copyright (c) mmwsl contributors. All rights reserved.
import mmcv.transforms  # noqa: F401  (fills the root TRANSFORMS registry)

from .formatting import PackWSOLInputs
from .loading import LoadImageWithCheck, LoadWSOLMask

__all__ = ['LoadImageWithCheck', 'LoadWSOLMask', 'PackWSOLInputs']
