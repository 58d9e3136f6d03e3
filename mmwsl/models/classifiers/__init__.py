# Copyright (c) mmwsl contributors. All rights reserved.
from .bas import BAS
from .c2am import C2AM
from .c2am_with_classifier import C2AMWithClassifier
from .eil import EILClassifier
from .hfpl_classifier import HFPLCAMClassifier
from .inter_pixel_relation_net import InterPixelRelationNet
from .multilabel_bas import MultiLabelBAS
from .multilabel_cam import MultiLabelCAMClassifier
from .psol import PSOLRegressor, box_map
from .wsol_classifier import WSOLClassifier

__all__ = [
    'WSOLClassifier', 'BAS', 'MultiLabelCAMClassifier', 'C2AM',
    'C2AMWithClassifier', 'PSOLRegressor', 'box_map', 'HFPLCAMClassifier',
    'MultiLabelBAS', 'InterPixelRelationNet', 'EILClassifier'
]
