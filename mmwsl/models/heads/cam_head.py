# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS


@MODELS.register_module()
class CAMHead(ClsHead):
    """Global average pooling + linear classifier with class activation maps.

    The CAM of class k is the classifier-weighted sum of the feature maps,
    ``M_k = sum_c w_kc F_c`` (no bias, no ReLU), as in wsolevaluation.

    Args:
        num_classes: Number of classes K.
        in_channels: Channels C of the last backbone feature map.
        loss: Classification loss config.
        topk: Top-k for the training accuracy when ``cal_acc``.
        cal_acc: Log training accuracy.
        cam_class: Which class's map ``predict`` returns: ``'gt'`` (the
            ground-truth class when the sample has one, the GT-known
            protocol) or ``'pred'`` (the top-1 predicted class).
        init_cfg: Initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: dict = dict(
                     type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
                 topk: Tuple[int, ...] = (1, ),
                 cal_acc: bool = False,
                 cam_class: str = 'gt',
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01)):
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc,
                         init_cfg=init_cfg)
        if cam_class not in ('gt', 'pred'):
            raise ValueError(f"cam_class must be 'gt' or 'pred', got "
                             f'{cam_class!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.cam_class = cam_class
        self.fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Last feature map, ``(B, C, h, w)``."""
        x = feats[-1]
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects a (B, '
                             f'{self.in_channels}, h, w) feature map, got '
                             f'{tuple(x.shape)}; check in_channels and the '
                             f"backbone's out_indices.")
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class scores ``(B, K)``."""
        return self.fc(self.pre_logits(feats).mean((2, 3)))

    def class_maps(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Raw class activation maps ``(B, K, h, w)``."""
        return F.conv2d(self.pre_logits(feats), self.fc.weight[..., None,
                                                               None])

    def forward_tensor(self, feats: Tuple[torch.Tensor]) -> dict:
        """``cls_score`` ``(B, K)`` and ``cams`` ``(B, K, h, w)``."""
        x = self.pre_logits(feats)
        return dict(cls_score=self.fc(x.mean((2, 3))),
                    cams=F.conv2d(x, self.fc.weight[..., None, None]))

    def predict(self,
                feats: Tuple[torch.Tensor],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Scores, labels and the raw low-resolution ``cam`` ``(h, w)`` of
        the class chosen by ``cam_class`` (stored with ``cam_label``).

        The classifier resizes and normalises ``cam`` afterwards.
        """
        out = self.forward_tensor(feats)
        samples = self._get_predictions(out['cls_score'], data_samples)
        labels = select_cam_labels(samples, self.cam_class)
        cams = out['cams'][torch.arange(len(samples)), labels]
        for sample, cam, label in zip(samples, cams, labels):
            sample.set_field(cam, 'cam', field_type='data')
            sample.set_field(int(label), 'cam_label', field_type='metainfo')
        return samples


def select_cam_labels(samples: List[DataSample], mode: str) -> torch.Tensor:
    """Class index per sample: its GT label (``mode='gt'``, falling back to
    the prediction for unlabeled samples) or the top-1 prediction."""
    labels = []
    for s in samples:
        if mode == 'gt' and 'gt_label' in s and len(s.gt_label) > 0:
            labels.append(int(s.gt_label[0]))
        else:
            labels.append(int(s.pred_label[0]))
    return torch.tensor(labels, dtype=torch.long)
