# Copyright (c) mmwsl contributors. All rights reserved.
from .fsl_encoder_decoder import FSLEncoderDecoder

__all__ = ['FSLEncoderDecoder']
