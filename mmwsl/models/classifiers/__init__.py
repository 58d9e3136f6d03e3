# Copyright (c) mmwsl contributors. All rights reserved.
from .bas import BAS
from .wsol_classifier import WSOLClassifier

__all__ = ['WSOLClassifier', 'BAS']
