# Copyright (c) mmwsl contributors. All rights reserved.
"""CAM pseudo-label mIoU with a background-threshold sweep (spec 6)."""

from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsl.registry import METRICS

from ..functional import (
    add_sweep_histogram,
    iou_from_confusion,
    sweep_confusions,
    sweep_histogram,
)
from ..functional.scoremap import _to_numpy
from .curves import resolve_out_dir, save_curves
from .wsol_metric import sample_name

#: HFPL's sweep, 0.00-0.59; it contains BAS's 0.20-0.44.
DEFAULT_BG_THRESHOLDS = tuple(i / 100 for i in range(60))


@METRICS.register_module()
class PseudoLabelMetric(BaseMetric):
    """mIoU of CAM pseudo-labels for a sweep of background thresholds.

    Each pixel is labelled ``argmax([t, A_1, ..., A_K])`` over the image's
    positive classes (background wins ties), confusion counts are summed
    over the whole set (ignore label excluded) and the mIoU over all
    classes, background included, is computed for every threshold ``t``;
    the best one is reported (an oracle threshold, as BAS, HFPL and CCAM
    do). See :func:`mmwsl.evaluation.functional.pseudo_label_miou`.

    Data samples must hold

    * the maps: ``cam`` of shape (K, H, W) together with ``cam_labels``
      (the K foreground class indices, 0-based), or ``cam`` of shape
      (C - 1, H, W) with one map per foreground class, of which the
      image's classes (``gt_score`` multi-hot, else ``gt_label``) are used;
    * the GT label map (0 background, c + 1 class c, ``ignore_index``):
      ``gt_sem_seg`` (an MMSeg ``PixelData`` or its dict) or ``gt_seg_map``.

    Reported: ``mIoU``, ``fg_mIoU`` and ``bg_threshold`` at the best
    threshold; the per-class IoU table is logged and mIoU versus threshold
    is plotted to ``out_dir`` (default: the Runner's log folder).

    Args:
        num_classes (int): classes including background (VOC 21, COCO 81).
        bg_thresholds (Sequence[float]): thresholds to sweep. Default
            0.00-0.59 (HFPL); BAS uses 0.20-0.44, CCAM 0.05-0.75 step 0.05.
        average (str): ``'nanmean'`` (chainercv: skip classes absent from
            GT and prediction) or ``'mean'`` (CCAM/HFPL: they count 0).
        ignore_index (int): GT label that is not evaluated.
        class_names (Sequence[str], optional): names for the logged table.
        plot (bool): save the mIoU curve.
        out_dir (str, optional): folder for the plot.
    """

    default_prefix = 'pseudo_label'

    def __init__(
        self,
        num_classes: int = 21,
        bg_thresholds: Sequence[float] = DEFAULT_BG_THRESHOLDS,
        average: str = 'nanmean',
        ignore_index: int = 255,
        class_names: Optional[Sequence[str]] = None,
        plot: bool = True,
        out_dir: Optional[str] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if average not in ('nanmean', 'mean'):
            raise ValueError(
                f"average must be 'nanmean' or 'mean', not {average!r}."
            )
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f'{len(class_names)} class names for {num_classes} classes.'
            )
        self.num_classes = num_classes
        self.bg_thresholds = sorted(float(t) for t in bg_thresholds)
        self.average = average
        self.ignore_index = ignore_index
        self.class_names = class_names
        self.plot = plot
        self.out_dir = out_dir

    def _cams_and_labels(self, sample: dict):
        cam = _to_numpy(sample['cam'])
        if cam.ndim == 2:
            cam = cam[None]
        if sample.get('cam_labels') is not None:
            return cam, _to_numpy(sample['cam_labels']).reshape(-1)
        if len(cam) != self.num_classes - 1:
            raise ValueError(
                f'cam has {len(cam)} channels: without cam_labels it must '
                f'hold one map per foreground class ({self.num_classes - 1}).'
            )
        if sample.get('gt_score') is not None:
            labels = np.flatnonzero(_to_numpy(sample['gt_score']) > 0)
        elif sample.get('gt_label') is not None:
            labels = _to_numpy(sample['gt_label']).reshape(-1)
        else:
            labels = np.arange(len(cam))
        labels = labels.astype(np.int64)
        if ((labels < 0) | (labels >= len(cam))).any():
            raise ValueError(
                f'image labels {labels.tolist()} out of range '
                f'for {len(cam)} foreground classes.'
            )
        return cam[labels], labels

    @staticmethod
    def _gt_of(sample: dict) -> np.ndarray:
        gt = sample.get('gt_sem_seg')
        if gt is None:
            gt = sample.get('gt_seg_map')
        if gt is None:
            raise KeyError('the sample has no gt_sem_seg / gt_seg_map.')
        if isinstance(gt, dict):
            gt = gt['data']
        elif hasattr(gt, 'data') and not hasattr(gt, 'shape'):
            gt = gt.data
        return _to_numpy(gt)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample_name(sample)
            try:
                cams, labels = self._cams_and_labels(sample)
                self.results.append(
                    sweep_histogram(
                        cams,
                        labels,
                        self._gt_of(sample),
                        self.bg_thresholds,
                        self.num_classes,
                        self.ignore_index,
                        name,
                    )
                )
            except (ValueError, TypeError, KeyError) as e:
                raise type(e)(f'{name}: {e}') from e

    def compute_metrics(self, results: List) -> Dict[str, float]:
        total = np.zeros(
            (self.num_classes, self.num_classes, len(self.bg_thresholds) + 1),
            np.int64,
        )
        for pairs, counts in results:
            add_sweep_histogram(total, pairs, counts)
        confusions = sweep_confusions(total)
        scores = [iou_from_confusion(c, self.average) for c in confusions]
        curve = np.array([s['miou'] for s in scores])
        best = int(np.argmax(curve))
        logger = MMLogger.get_current_instance()
        names = self.class_names or [str(c) for c in range(self.num_classes)]
        table = '\n'.join(
            f'  {name:>16s}: {iou:6.2f}'
            for name, iou in zip(names, scores[best]['iou'])
        )
        logger.info(
            f'pseudo-label IoU per class at background threshold '
            f'{self.bg_thresholds[best]:.2f}:\n{table}'
        )
        if self.plot:
            out_dir = resolve_out_dir(self.out_dir)
            if out_dir is not None:
                png = save_curves(
                    out_dir,
                    'pseudo_label_miou_curve',
                    self.bg_thresholds,
                    {'mIoU': curve},
                    'background threshold',
                    'mIoU (%)',
                    f'best mIoU = {curve[best]:.2f}',
                    {'mIoU': self.bg_thresholds[best]},
                )
                logger.info(f'mIoU curve saved to {png}')
        return {
            'mIoU': float(curve[best]),
            'fg_mIoU': scores[best]['fg_miou'],
            'bg_threshold': self.bg_thresholds[best],
        }
