# Copyright (c) mmwsl contributors. All rights reserved.
"""Pure numpy implementations of the WSOL / WSSS evaluation protocols
(``specs/metrics.md``): numpy (or tensors) in, Python numbers out;
accuracies in percent."""

from .box_extraction import cam_to_box_bas, cam_to_boxes
from .boxes import box_iou, check_box_convention, resize_bbox, resize_crop_bbox
from .contour_fscore import contour_counts, contour_fscore, fscore_from_counts
from .localization import (
    best_iou_per_threshold,
    box_acc_curve,
    correct_per_threshold,
    count_correct,
    loc_accuracy,
    max_box_acc,
    summarize_box_acc,
    summarize_loc_accuracy,
    threshold_grid,
    topk_correct,
)
from .pseudo_label import (
    ThresholdSweep,
    activation_thresholds,
    cams_to_label_map,
    confusion_matrix,
    iou_from_confusion,
    pseudo_label_miou,
)
from .pxap import (
    check_mask,
    pxap,
    pxap_bin_edges,
    pxap_from_histograms,
    pxap_histograms,
)
from .scoremap import (
    check_scoremap,
    normalize_scoremap,
    normalize_scoremap_bas,
)
from .segmentation import (
    add_sweep_histogram,
    sweep_confusions,
    sweep_histogram,
)

__all__ = [
    'cam_to_boxes',
    'cam_to_box_bas',
    'box_iou',
    'check_box_convention',
    'resize_bbox',
    'resize_crop_bbox',
    'best_iou_per_threshold',
    'box_acc_curve',
    'correct_per_threshold',
    'count_correct',
    'loc_accuracy',
    'max_box_acc',
    'summarize_box_acc',
    'summarize_loc_accuracy',
    'threshold_grid',
    'topk_correct',
    'check_mask',
    'pxap',
    'pxap_bin_edges',
    'pxap_from_histograms',
    'pxap_histograms',
    'check_scoremap',
    'normalize_scoremap',
    'normalize_scoremap_bas',
    'contour_counts',
    'contour_fscore',
    'fscore_from_counts',
    'ThresholdSweep',
    'activation_thresholds',
    'cams_to_label_map',
    'confusion_matrix',
    'iou_from_confusion',
    'pseudo_label_miou',
    'add_sweep_histogram',
    'sweep_confusions',
    'sweep_histogram',
]
