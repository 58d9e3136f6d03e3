# Copyright (c) mmwsl contributors. All rights reserved.
from .fsl_encoder_decoder import FSLEncoderDecoder

__all__ = ['FSLEncoderDecoder']
from .psl_encoder_decoder import (  # noqa: E402
    PSLEncoderDecoder,
    prohibitive_label,
    prohibitive_weights,
)

__all__ += ['PSLEncoderDecoder', 'prohibitive_label', 'prohibitive_weights']
