# Copyright (c) mmwsl contributors. All rights reserved.
from .acol_head import ACoLHead, acol_erase_mask
from .bas_head import BASHead
from .c2am_head import C2AMHead, pool_foreground_background
from .cam_head import CAMHead
from .hfpl_head import HFPLHead
from .irn_head import IRNHead
from .multilabel_bas_head import MultiLabelBASHead, choose_positive_classes
from .multilabel_cam_head import MultiLabelCAMHead
from .psol_head import PSOLHead

__all__ = [
    'CAMHead', 'BASHead', 'MultiLabelCAMHead', 'C2AMHead',
    'pool_foreground_background', 'PSOLHead', 'HFPLHead', 'ACoLHead',
    'acol_erase_mask', 'MultiLabelBASHead', 'choose_positive_classes',
    'IRNHead'
]
