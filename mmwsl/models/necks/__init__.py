# Copyright (c) mmwsl contributors. All rights reserved.
from .conv_relu_neck import ConvReLUNeck

__all__ = ['ConvReLUNeck']
