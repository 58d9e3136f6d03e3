# Copyright (c) mmwsl contributors. All rights reserved.
import mmcv.transforms  # noqa: F401  (fills the root TRANSFORMS registry)

from .adversarial_erasing import ApplyAdversarialErasure, LoadImageLevelLabels
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
from .rescale import RandomRescale

__all__ = [
    'LoadImageWithCheck', 'LoadWSOLMask', 'PackWSOLInputs', 'WSOLResize',
    'WSOLCenterCrop', 'WSOLRandomFlip', 'WSOLRandomCrop',
    'WSOLRandomResizedCrop', 'resize_boxes', 'crop_boxes', 'flip_boxes',
    'LoadPseudoBox', 'RandomResizedBoxCrop', 'PSOLRandomFlip',
    'PackPSOLTarget', 'RandomRescale', 'ApplyAdversarialErasure',
    'LoadImageLevelLabels'
]
