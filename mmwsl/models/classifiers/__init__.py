# Copyright (c) mmwsl contributors. All rights reserved.
from .bas import BAS
from .c2am import C2AM
from .c2am_with_classifier import C2AMWithClassifier
from .eil import EILClassifier
from .hfpl_classifier import HFPLCAMClassifier
from .multilabel_bas import MultiLabelBAS
from .multilabel_cam import MultiLabelCAMClassifier
from .psol import PSOLRegressor, box_map
from .wsol_classifier import WSOLClassifier

__all__ = ['WSOLClassifier', 'BAS', 'MultiLabelCAMClassifier']
__all__ += ['C2AM', 'C2AMWithClassifier']
__all__ += ['PSOLRegressor', 'box_map']
__all__ += ['HFPLCAMClassifier']
__all__ += ['MultiLabelBAS']
from .inter_pixel_relation_net import InterPixelRelationNet  # noqa: E402

__all__ += ['InterPixelRelationNet']
__all__ += ['EILClassifier']
