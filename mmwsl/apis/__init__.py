# Copyright (c) mmwsl contributors. All rights reserved.
from .inference import inference_model, init_model

__all__ = ['inference_model', 'init_model']
