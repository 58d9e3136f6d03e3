# Copyright (c) mmwsl contributors. All rights reserved.
"""WSOL evaluation as one mmengine metric (``specs/metrics.md`` 3, 4)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsl.registry import METRICS

from ..functional import (
    check_scoremap,
    correct_per_threshold,
    pxap_from_histograms,
    pxap_histograms,
    summarize_box_acc,
    summarize_loc_accuracy,
    threshold_grid,
    topk_correct,
)
from ..functional.localization import _best_iou_bas
from ..functional.scoremap import _to_numpy
from .curves import resolve_out_dir, save_curves


def sample_name(sample: dict) -> str:
    """How a sample is named in error messages."""
    for key in ('img_path', 'img_id'):
        if sample.get(key) is not None:
            return str(sample[key])
    if sample.get('sample_idx') is not None:
        return f'sample {sample["sample_idx"]}'
    return 'sample'


def gt_boxes_of(sample: dict) -> np.ndarray:
    """``gt_bboxes`` of a packed sample as int64 pixel indices.

    Boxes come as float tensors; values within 1e-3 of an integer are
    rounded (float noise of the transforms), others truncated like
    wsolevaluation's ``int()``.
    """
    boxes = _to_numpy(sample['gt_bboxes']).astype(np.float64).reshape(-1, 4)
    rounded = np.round(boxes)
    exact = np.abs(boxes - rounded) < 1e-3
    return np.where(exact, rounded, np.trunc(boxes)).astype(np.int64)


def _label_of(sample: dict) -> int:
    label = _to_numpy(sample['gt_label']).reshape(-1)
    if label.size != 1:
        raise ValueError(f'expected one gt_label, got {label.tolist()}.')
    return int(label[0])


@METRICS.register_module()
class WSOLMetric(BaseMetric):
    """Weakly supervised object localization metrics.

    Reads ``cam`` (H×W map in [0, 1] at the network-input resolution),
    ``gt_label``, ``pred_score`` (optional), ``gt_bboxes`` (N×4, inclusive
    pixel corners, network-input coordinates) and/or ``gt_mask`` (H×W, 1
    object / 0 background / 255 ignore) from each data sample, and computes
    what the data allows:

    * classification: ``top{k}_cls`` (with ``pred_score``);
    * the **BAS protocol** (spec 3.3), boxes from the map at the fixed
      ``loc_thresholds``: ``gt_known``, ``top{k}_loc`` (with
      ``pred_score``), ``loc_iou{delta}`` and ``loc_threshold`` (the
      threshold maximising Top-1 Loc + GT-known);
    * the **wsolevaluation protocol** (spec 3.2), bit-for-bit:
      ``MaxBoxAcc@{delta}`` and ``best_tau@{delta}`` per IoU level, plus
      ``MaxBoxAccV2`` (their mean, ``box_v2=True``) or ``MaxBoxAcc``
      (``@50``, ``box_v2=False``);
    * **PxAP** (spec 4) with masks: ``PxAP`` and ``pIoU``.

    All values are percentages. Box accuracy versus CAM threshold and the
    pixel precision-recall curve are saved as PNG + JSON to ``out_dir``
    (default: the Runner's log folder inside the work dir).

    Every sample's contribution is kept separately (a few hundred bytes), so
    results stay exact under distributed evaluation, where mmengine drops
    the samples the sampler padded.

    Args:
        loc_thresholds (Sequence[float]): CAM thresholds of the BAS protocol
            (BAS: CUB 0.1; ILSVRC VGG 0.45, ResNet 0.25, Inception 0.25,
            MobileNet 0.5).
        topk (Sequence[int]): the k of the classification and Top-k Loc.
        iou_thresholds (Sequence[float]): IoU levels in percent.
        cam_curve_interval (float): wsolevaluation threshold step: 0.001
            (its training runs) or 0.01 (its command line). Also the PxAP
            bin width.
        box_v2 (bool): MaxBoxAccV2 (all contours) or the original
            MaxBoxAcc (largest contour).
        box_rule (str): box extraction of the BAS protocol: ``'bas'``
            (largest 8-connected component of ``cam > tau``; whole image
            when empty) or ``'wsolevaluation'``.
        loc_multi_contour (bool): all contours in the BAS protocol (only
            with ``box_rule='wsolevaluation'``).
        pixel_offset (int): IoU convention of the BAS protocol: 1 (+1
            pixel, BAS/wsolevaluation) or 0 (continuous, CCAM/PSOL).
        strict_iou (bool): count ``IoU > delta`` instead of ``>=`` in the
            BAS protocol (CCAM/PSOL).
        class_balanced (bool): average the BAS-protocol numbers per class
            first (CCAM's PSOL evaluation).
        protocols (Sequence[str], optional): subset of ``'bas'``,
            ``'wsolevaluation'``, ``'pxap'``, ``'cls'``; default: all that
            the samples' annotations allow.
        plot (bool): save the threshold curves.
        out_dir (str, optional): folder for the plots.
        cam_key (str): the data-sample field holding the map.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): metric-name prefix; default ``'wsol'``.
    """
    default_prefix = 'wsol'
    PROTOCOLS = ('cls', 'bas', 'wsolevaluation', 'pxap')

    def __init__(self,
                 loc_thresholds: Sequence[float] = (0.1, ),
                 topk: Sequence[int] = (1, 5),
                 iou_thresholds: Sequence[float] = (30, 50, 70),
                 cam_curve_interval: float = 0.001,
                 box_v2: bool = True,
                 box_rule: str = 'bas',
                 loc_multi_contour: bool = False,
                 pixel_offset: int = 1,
                 strict_iou: bool = False,
                 class_balanced: bool = False,
                 protocols: Optional[Sequence[str]] = None,
                 plot: bool = True,
                 out_dir: Optional[str] = None,
                 cam_key: str = 'cam',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if box_rule not in ('bas', 'wsolevaluation'):
            raise ValueError(f"box_rule must be 'bas' or 'wsolevaluation', "
                             f'not {box_rule!r}.')
        if pixel_offset not in (0, 1):
            raise ValueError(f'pixel_offset must be 0 or 1, not '
                             f'{pixel_offset!r}.')
        if protocols is not None:
            unknown = set(protocols) - set(self.PROTOCOLS)
            if unknown:
                raise ValueError(f'unknown protocols {sorted(unknown)}; '
                                 f'choose from {self.PROTOCOLS}.')
        if 50 not in iou_thresholds and not box_v2:
            raise ValueError('MaxBoxAcc (box_v2=False) is reported at IoU '
                             '50, so iou_thresholds must contain 50.')
        self.loc_thresholds = [float(t) for t in loc_thresholds]
        self.topk = tuple(int(k) for k in topk)
        self.iou_thresholds = tuple(iou_thresholds)
        self.cam_curve_interval = cam_curve_interval
        self.thresholds = threshold_grid(cam_curve_interval)
        self.box_v2 = box_v2
        self.box_rule = box_rule
        self.loc_multi_contour = loc_multi_contour
        self.pixel_offset = pixel_offset
        self.strict_iou = strict_iou
        self.class_balanced = class_balanced
        self.protocols = None if protocols is None else set(protocols)
        self.plot = plot
        self.out_dir = out_dir
        self.cam_key = cam_key

    def _wants(self, protocol: str) -> bool:
        return self.protocols is None or protocol in self.protocols

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample_name(sample)
            try:
                self.results.append(self._process_one(sample, name))
            except (ValueError, TypeError, RuntimeError, KeyError) as e:
                raise type(e)(f'{name}: {e}') from e

    def _process_one(self, sample: dict, name: str) -> dict:
        result = {'label': None, 'cls': None, 'loc_iou': None,
                  'box_bits': None, 'pxap_hist': None}
        wants_boxes = self._wants('bas') or self._wants('wsolevaluation')
        has_boxes = sample.get('gt_bboxes') is not None and len(
            sample['gt_bboxes']) > 0
        has_mask = sample.get('gt_mask') is not None
        needs_cam = (wants_boxes and has_boxes) or (self._wants('pxap')
                                                    and has_mask)
        if 'gt_label' in sample:
            result['label'] = _label_of(sample)
        if (self._wants('cls') or self._wants('bas')) and sample.get(
                'pred_score') is not None and result['label'] is not None:
            result['cls'] = topk_correct(sample['pred_score'],
                                         result['label'], self.topk)
        if not needs_cam:
            return result
        if self.cam_key not in sample:
            raise KeyError(f'the prediction has no {self.cam_key!r} map.')
        raw_cam = sample[self.cam_key]
        cam = check_scoremap(raw_cam, self.cam_key)
        img_shape = sample.get('img_shape')
        if img_shape is not None and tuple(cam.shape) != tuple(
                img_shape[:2]):
            raise ValueError(f'the {self.cam_key} map has shape '
                             f'{tuple(cam.shape)} but the network input '
                             f'is {tuple(img_shape[:2])}; maps must be at '
                             'the network-input resolution.')
        if wants_boxes and has_boxes:
            boxes = gt_boxes_of(sample)
            if self._wants('bas'):
                result['loc_iou'] = _best_iou_bas(
                    raw_cam, boxes, self.loc_thresholds, self.box_rule,
                    self.loc_multi_contour, self.pixel_offset, self.cam_key)
            if self._wants('wsolevaluation'):
                bits = correct_per_threshold(cam, boxes, self.thresholds,
                                             self.iou_thresholds,
                                             self.box_v2, self.cam_key)
                result['box_bits'] = np.packbits(bits, axis=1)
        if self._wants('pxap') and has_mask:
            result['pxap_hist'] = pxap_histograms(
                cam, sample['gt_mask'], self.thresholds,
                self.cam_key).astype(np.int32)
        return result

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics: Dict[str, float] = {}
        out_dir = resolve_out_dir(self.out_dir) if self.plot else None
        logger = MMLogger.get_current_instance()

        with_cls = [r for r in results if r['cls'] is not None]
        if with_cls and self._wants('cls'):
            for k in self.topk:
                metrics[f'top{k}_cls'] = 100. * float(
                    np.mean([r['cls'][k] for r in with_cls]))

        loc = [r for r in results if r['loc_iou'] is not None]
        if loc:
            metrics.update(self._bas_metrics(loc))

        boxes = [r['box_bits'] for r in results if r['box_bits'] is not None]
        if boxes:
            num_thresholds = len(self.thresholds)
            correct = np.zeros((len(self.iou_thresholds), num_thresholds),
                               np.int64)
            for packed in boxes:
                correct += np.unpackbits(
                    packed, axis=1, count=num_thresholds).astype(bool)
            curve = correct * 100. / len(boxes)
            summary = summarize_box_acc(curve, self.thresholds,
                                        self.iou_thresholds)
            for delta in self.iou_thresholds:
                metrics[f'MaxBoxAcc@{delta:g}'] = summary['acc'][delta]
                metrics[f'best_tau@{delta:g}'] = summary['best_threshold'][
                    delta]
            if self.box_v2:
                metrics['MaxBoxAccV2'] = summary['mean']
            else:
                metrics['MaxBoxAcc'] = summary['acc'][50]
            if out_dir is not None:
                title = (f'MaxBoxAccV2 = {summary["mean"]:.2f}'
                         if self.box_v2 else
                         f'MaxBoxAcc = {summary["acc"][50]:.2f}')
                png = save_curves(
                    out_dir, 'box_acc_curve', self.thresholds, {
                        f'IoU {d:g}': curve[i]
                        for i, d in enumerate(self.iou_thresholds)
                    }, 'CAM threshold', 'box accuracy (%)', title, {
                        f'IoU {d:g}': summary['best_threshold'][d]
                        for d in self.iou_thresholds
                    })
                logger.info(f'box accuracy curve saved to {png}')

        hists = [r['pxap_hist'] for r in results if r['pxap_hist'] is not None]
        if hists:
            total = np.sum([h.astype(np.int64) for h in hists], axis=0)
            pr = pxap_from_histograms(total, self.thresholds)
            metrics['PxAP'] = pr['pxap']
            metrics['pIoU'] = pr['piou']
            if out_dir is not None:
                keep = ~np.isnan(pr['precision'])
                png = save_curves(
                    out_dir, 'pxap_pr_curve', pr['recall'][keep],
                    {'precision': pr['precision'][keep] * 100}, 'recall',
                    'precision (%)', f'PxAP = {pr["pxap"]:.2f}')
                logger.info(f'pixel precision-recall curve saved to {png}')
        return metrics

    def _bas_metrics(self, loc: List[dict]) -> Dict[str, float]:
        ious = np.stack([r['loc_iou'] for r in loc])
        all_cls = all(r['cls'] is not None for r in loc)
        cls_correct = None
        if all_cls:
            cls_correct = {
                k: np.array([r['cls'][k] for r in loc])
                for k in self.topk
            }
        labels = [r['label'] for r in loc]
        if self.class_balanced and any(label is None for label in labels):
            raise ValueError('class_balanced needs gt_label on every sample.')
        summary = summarize_loc_accuracy(ious, self.loc_thresholds,
                                         cls_correct, labels,
                                         self.iou_thresholds,
                                         self.strict_iou,
                                         self.class_balanced)
        metrics = {'gt_known': summary['gt_known']}
        if cls_correct is not None:
            for k in self.topk:
                metrics[f'top{k}_loc'] = summary[f'top{k}_loc']
        for delta in self.iou_thresholds:
            metrics[f'loc_iou{delta:g}'] = summary[f'iou{delta:g}']
        metrics['loc_threshold'] = summary['best_threshold']
        return metrics
