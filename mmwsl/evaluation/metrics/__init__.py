# Copyright (c) mmwsl contributors. All rights reserved.
from .pseudo_label_metric import PseudoLabelMetric
from .wsol_metric import WSOLMetric

__all__ = ['WSOLMetric', 'PseudoLabelMetric']
