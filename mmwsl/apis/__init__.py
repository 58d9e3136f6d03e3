# Copyright (c) mmwsl contributors. All rights reserved.
from .inference import inference_model, init_model
from .pseudo_label import (
                           PseudoLabelWriter,
                           cams_to_pseudo_label,
                           dense_crf,
                           generate_pseudo_labels,
                           image_names,
                           load_cams_npz,
                           multiscale_cams,
                           normalize_cams,
)

__all__ = [
    'inference_model', 'init_model', 'PseudoLabelWriter',
    'cams_to_pseudo_label', 'dense_crf', 'generate_pseudo_labels',
    'image_names', 'load_cams_npz', 'multiscale_cams', 'normalize_cams'
]
