# Copyright (c) mmwsl contributors. All rights reserved.
from .fsl_encoder_decoder import FSLEncoderDecoder
from .psl_encoder_decoder import (
    PSLEncoderDecoder,
    prohibitive_label,
    prohibitive_weights,
)

__all__ = [
    'FSLEncoderDecoder', 'PSLEncoderDecoder', 'prohibitive_label',
    'prohibitive_weights'
]
