# Copyright (c) mmwsl contributors. All rights reserved.
from .cam import localization_map, minmax_normalize, resize_maps

__all__ = ['localization_map', 'minmax_normalize', 'resize_maps']
from .adl import ADL, attention_drop_mask  # noqa: E402

__all__ += ['ADL', 'attention_drop_mask']
from .path_index import PathIndex, edge_to_affinity  # noqa: E402

__all__ += ['PathIndex', 'edge_to_affinity']
from .erase_policy import (  # noqa: E402
    ErasePolicy,
    class_activation_map,
    erase_region,
)

__all__ += ['ErasePolicy', 'class_activation_map', 'erase_region']
