# Copyright (c) mmwsl contributors. All rights reserved.
"""ACoL: adversarial complementary learning (two classifiers, feature
erasing between them)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.evaluation import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample, label_to_onehot

from mmwsl.models.layers import minmax_normalize
from mmwsl.registry import MODELS


def acol_erase_mask(maps: torch.Tensor, delta: float) -> torch.Tensor:
    """Where ACoL erases: ``minmax(maps) >= delta``.

    The min-max normalisation has no epsilon (as both references): a
    constant map normalises to NaN everywhere and NaN never satisfies the
    comparison, so nothing is erased.

    Args:
        maps: ``(B, h, w)`` attention maps (one class map per sample).
        delta: Erase threshold in ``[0, 1]``.

    Returns:
        Boolean ``(B, h, w)`` tensor, True where the feature is erased.
        It carries no gradient.
    """
    flat = maps.detach().flatten(1)
    low = flat.min(1, keepdim=True).values
    high = flat.max(1, keepdim=True).values
    norm = (flat - low) / (high - low)
    return (norm >= delta).view_as(maps)


def _classifier(in_channels: int, mid_channels: int,
                num_classes: int) -> nn.Sequential:
    """conv3x3 -> ReLU -> conv3x3 -> ReLU -> conv1x1 (class maps)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, mid_channels, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid_channels, mid_channels, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid_channels, num_classes, 1),
    )


@MODELS.register_module()
class ACoLHead(ClsHead):
    """Adversarial complementary learning head (Zhang et al., CVPR 2018).

    Two classifiers share the backbone features ``F`` ``(B, C, h, w)``:

    1. branch A gives class maps ``S_A`` ``(B, K, h, w)`` and logits
       ``z_A = GAP(S_A)``;
    2. the map of the target class (GT label in training; otherwise the
       label chosen by ``cam_class``, the argmax of ``z_A`` when there is no
       label) is min-max normalised per sample and the feature positions
       where it is ``>= delta`` are zeroed (:func:`acol_erase_mask`, no
       gradient through the mask);
    3. branch B sees the erased features: ``z_B = GAP(S_B)``.

    The loss is ``CE(z_A, y) + CE(z_B, y)``; ``predict`` scores with
    ``z_A``; the localization map is
    ``max(minmax(S_A[y]), minmax(S_B[y]))`` with per-(sample, class)
    normalisation.

    Args:
        num_classes: Number of classes K.
        in_channels: Channels C of the last backbone feature map.
        delta: Erase threshold. 0.7 is the wsolevaluation default
            (``--acol_threshold``), 0.6 the official ACoL code's.
        mid_channels: Width of the two 3x3 convolutions of each branch.
        feat_avg_pool: Apply a 3x3 average pool (stride 1, padding 1) to
            the features first, as both references do for VGG.
        multilabel: Multi-hot targets: the erase map is the maximum over
            the positive classes of the normalised A maps, the loss a
            sigmoid (binary) cross-entropy and ``pred_score`` a sigmoid.
        loss: Loss config applied to both branches.
        topk: Top-k for the training accuracy when ``cal_acc``.
        cal_acc: Log the training accuracy of branch A.
        cam_class: Class of the localization map (and of the erasing at
            inference): ``'gt'`` (the sample's label when it has one) or
            ``'pred'`` (the top-1 prediction of branch A).
        init_cfg: Initialisation of the branches (wsolevaluation: xavier
            for VGG, kaiming for ResNet).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 delta: float = 0.7,
                 mid_channels: int = 1024,
                 feat_avg_pool: bool = False,
                 multilabel: bool = False,
                 loss: Optional[dict] = None,
                 topk: Tuple[int, ...] = (1, ),
                 cal_acc: bool = False,
                 cam_class: str = 'gt',
                 init_cfg: Optional[dict] = dict(
                     type='Xavier', layer='Conv2d',
                     distribution='uniform')):
        if loss is None:
            loss = dict(type='mmpretrain.CrossEntropyLoss',
                        use_sigmoid=multilabel, loss_weight=1.0)
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc,
                         init_cfg=init_cfg)
        if not 0. <= delta <= 1.:
            raise ValueError(f'delta must be in [0, 1], got {delta}.')
        if cam_class not in ('gt', 'pred'):
            raise ValueError(f"cam_class must be 'gt' or 'pred', got "
                             f'{cam_class!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.delta = delta
        self.feat_avg_pool = feat_avg_pool
        self.multilabel = multilabel
        self.cam_class = cam_class
        self.classifier_a = _classifier(in_channels, mid_channels,
                                        num_classes)
        self.classifier_b = _classifier(in_channels, mid_channels,
                                        num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Last feature map ``(B, C, h, w)`` (average-pooled if set)."""
        x = feats[-1]
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects a (B, '
                             f'{self.in_channels}, h, w) feature map, got '
                             f'{tuple(x.shape)}; check in_channels and the '
                             f"backbone's out_indices.")
        if self.feat_avg_pool:
            x = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Branch-A logits ``(B, K)``."""
        return self.classifier_a(self.pre_logits(feats)).mean((2, 3))

    def erase_mask(self, maps_a: torch.Tensor,
                   targets: torch.Tensor) -> torch.Tensor:
        """Boolean erase mask ``(B, h, w)`` from the A maps.

        Args:
            maps_a: ``(B, K, h, w)`` class maps of branch A.
            targets: ``(B, )`` class indices, or ``(B, K)`` multi-hot
                targets when ``multilabel``.
        """
        if not self.multilabel:
            batch = torch.arange(maps_a.size(0), device=maps_a.device)
            return acol_erase_mask(maps_a[batch, targets.long()],
                                   self.delta)
        flat = maps_a.detach().flatten(2)
        low = flat.min(2, keepdim=True).values
        high = flat.max(2, keepdim=True).values
        norm = ((flat - low) / (high - low)).nan_to_num(nan=-float('inf'))
        positive = targets.bool()[..., None]
        norm = norm.masked_fill(~positive, -float('inf'))
        return (norm.amax(1) >= self.delta).view(maps_a.shape[0],
                                                 *maps_a.shape[2:])

    def forward_tensor(self,
                       feats: Tuple[torch.Tensor],
                       targets: Optional[torch.Tensor] = None) -> dict:
        """Run both branches.

        Args:
            feats: Backbone features; the last is ``(B, C, h, w)``.
            targets: Classes that drive the erasing: ``(B, )`` indices
                (``(B, K)`` multi-hot when ``multilabel``). None uses the
                argmax of the branch-A logits.

        Returns:
            dict with ``cls_score`` ``(B, K)`` (branch A),
            ``cls_score_b`` ``(B, K)``, ``maps_a`` and ``maps_b``
            ``(B, K, h, w)``, ``erase_mask`` ``(B, h, w)`` (bool) and
            ``cams`` ``(B, K, h, w)``: the element-wise maximum of the
            min-max normalised maps of both branches.
        """
        x = self.pre_logits(feats)
        maps_a = self.classifier_a(x)
        if targets is None:
            targets = maps_a.detach().mean((2, 3)).argmax(1)
            if self.multilabel:
                targets = F.one_hot(targets, self.num_classes)
        return self._second_branch(x, maps_a, targets)

    def _second_branch(self, x: torch.Tensor, maps_a: torch.Tensor,
                       targets: torch.Tensor,
                       with_cams: bool = True) -> dict:
        """Erase ``x`` with the A maps of ``targets``, run branch B."""
        erased = self.erase_mask(maps_a, targets)
        keep = (~erased).to(x.dtype)[:, None]
        maps_b = self.classifier_b(x * keep)
        out = dict(cls_score=maps_a.mean((2, 3)),
                   cls_score_b=maps_b.mean((2, 3)), maps_a=maps_a,
                   maps_b=maps_b, erase_mask=erased)
        if with_cams:
            out['cams'] = torch.maximum(minmax_normalize(maps_a.detach()),
                                        minmax_normalize(maps_b.detach()))
        return out

    def _targets(self, data_samples: List[DataSample]) -> torch.Tensor:
        """``(B, )`` labels, or ``(B, K)`` multi-hot when ``multilabel``."""
        targets = []
        for i, sample in enumerate(data_samples):
            if self.multilabel and 'gt_score' in sample:
                targets.append(sample.gt_score.float())
            elif 'gt_label' in sample and len(sample.gt_label) > 0:
                if self.multilabel:
                    targets.append(label_to_onehot(
                        sample.gt_label, self.num_classes).float())
                else:
                    targets.append(sample.gt_label[:1])
            else:
                raise ValueError(f'Training sample {i} has no image-level '
                                 'label (gt_label).')
        return (torch.stack(targets) if self.multilabel else
                torch.cat(targets))

    def loss(self, feats: Tuple[torch.Tensor],
             data_samples: List[DataSample], **kwargs) -> dict:
        """``loss_cls_a`` and ``loss_cls_b``; erasing uses the GT labels."""
        targets = self._targets(data_samples).to(feats[-1].device)
        x = self.pre_logits(feats)
        out = self._second_branch(x, self.classifier_a(x), targets,
                                  with_cams=False)
        batch = targets.size(0)
        losses = dict(
            loss_cls_a=self.loss_module(out['cls_score'], targets,
                                        avg_factor=batch, **kwargs),
            loss_cls_b=self.loss_module(out['cls_score_b'], targets,
                                        avg_factor=batch, **kwargs))
        if self.cal_acc and not self.multilabel:
            acc = Accuracy.calculate(out['cls_score'], targets,
                                     topk=self.topk)
            losses.update(
                {f'accuracy_top-{k}': a
                 for k, a in zip(self.topk, acc)})
        return losses

    def _cam_targets(self, samples: Sequence[DataSample],
                     logits: torch.Tensor) -> torch.Tensor:
        labels = []
        for sample, pred in zip(samples, logits.argmax(1)):
            if (self.cam_class == 'gt' and sample is not None
                    and 'gt_label' in sample and len(sample.gt_label) > 0):
                labels.append(int(sample.gt_label[0]))
            else:
                labels.append(int(pred))
        return torch.tensor(labels, dtype=torch.long, device=logits.device)

    def predict(self,
                feats: Tuple[torch.Tensor],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Branch-A scores, labels and the raw fused ``cam`` ``(h, w)`` of
        the class chosen by ``cam_class`` (stored with ``cam_label``); the
        same class drives the erasing, as in wsolevaluation's inference.
        """
        x = self.pre_logits(feats)
        maps_a = self.classifier_a(x)
        if data_samples is None:
            data_samples = [None] * maps_a.size(0)
        labels = self._cam_targets(data_samples, maps_a.mean((2, 3)))
        targets = (F.one_hot(labels, self.num_classes)
                   if self.multilabel else labels)
        out = self._second_branch(x, maps_a, targets)
        if self.multilabel:
            samples = []
            for sample, score in zip(data_samples,
                                     out['cls_score'].sigmoid()):
                sample = DataSample() if sample is None else sample
                sample.set_pred_score(score).set_pred_label(
                    torch.nonzero(score >= 0.5).flatten())
                samples.append(sample)
        else:
            samples = self._get_predictions(out['cls_score'], data_samples)
        cams = out['cams'][torch.arange(len(samples)), labels]
        for sample, cam, label in zip(samples, cams, labels):
            sample.set_field(cam, 'cam', field_type='data')
            sample.set_field(int(label), 'cam_label', field_type='metainfo')
        return samples
