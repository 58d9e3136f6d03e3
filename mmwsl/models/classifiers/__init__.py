# Copyright (c) mmwsl contributors. All rights reserved.
from .wsol_classifier import WSOLClassifier

__all__ = ['WSOLClassifier']
