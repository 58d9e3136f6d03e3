# Copyright (c) mmwsl contributors. All rights reserved.
import mmcv.transforms  # noqa: F401  (fills the root TRANSFORMS registry)

from .formatting import PackWSOLInputs
from .geometric import (
    WSOLCenterCrop,
    WSOLRandomCrop,
    WSOLRandomFlip,
    WSOLRandomResizedCrop,
    WSOLResize,
    crop_boxes,
    flip_boxes,
    resize_boxes,
)
from .loading import LoadImageWithCheck, LoadWSOLMask
from .psol import (
    LoadPseudoBox,
    PackPSOLTarget,
    PSOLRandomFlip,
    RandomResizedBoxCrop,
)

__all__ = ['LoadImageWithCheck', 'LoadWSOLMask', 'PackWSOLInputs']
__all__ += [
    'WSOLResize', 'WSOLCenterCrop', 'WSOLRandomFlip', 'WSOLRandomCrop',
    'WSOLRandomResizedCrop', 'resize_boxes', 'crop_boxes', 'flip_boxes'
]
__all__ += [
    'LoadPseudoBox', 'RandomResizedBoxCrop', 'PSOLRandomFlip', 'PackPSOLTarget'
]
from .rescale import RandomRescale  # noqa: E402

__all__ += ['RandomRescale']
from .adversarial_erasing import (  # noqa: E402
    ApplyAdversarialErasure,
    LoadImageLevelLabels,
)

__all__ += ['ApplyAdversarialErasure', 'LoadImageLevelLabels']
