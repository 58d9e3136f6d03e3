# Copyright (c) mmwsl contributors. All rights reserved.
from .adl import ADL, attention_drop_mask
from .cam import localization_map, minmax_normalize, resize_maps
from .erase_policy import ErasePolicy, class_activation_map, erase_region
from .path_index import PathIndex, edge_to_affinity

__all__ = [
    'localization_map', 'minmax_normalize', 'resize_maps', 'ADL',
    'attention_drop_mask', 'PathIndex', 'edge_to_affinity', 'ErasePolicy',
    'class_activation_map', 'erase_region'
]
