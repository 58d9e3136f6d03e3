# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.structures import DataSample, label_to_onehot

from mmwsl.registry import MODELS


@MODELS.register_module()
class MultiLabelCAMHead(MultiLabelClsHead):
    """Multi-label CAM head: GAP + bias-free 1x1 classifier (IRN style).

    The class score is ``s_k = sum_c w_kc GAP(F)_c`` and the class
    activation map of class k is ``A_k = ReLU(sum_c w_kc F_c)``: the
    classifier applied at every position of the feature map, with the
    negative part cut off. The loss is the multi-label soft-margin loss,
    i.e. the binary cross-entropy with logits averaged over classes and
    images (mmpretrain's ``CrossEntropyLoss(use_sigmoid=True)`` computes
    exactly this).

    Args:
        num_classes: Number of foreground classes K (no background).
        in_channels: Channels C of the last backbone feature map.
        loss: Loss config on the ``(B, K)`` logits and ``(B, K)``
            multi-hot targets (``gt_score``); default
            ``mmpretrain.CrossEntropyLoss(use_sigmoid=True)``.
        thr: Score threshold of ``pred_label`` in ``predict``.
        init_cfg: Initialisation config; None keeps PyTorch's default
            initialisation of the 1x1 classifier (as IRN).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss: Optional[dict] = None,
        thr: float = 0.5,
        init_cfg: Optional[dict] = None,
    ):
        if loss is None:
            loss = dict(
                type='mmpretrain.CrossEntropyLoss',
                use_sigmoid=True,
                loss_weight=1.0,
            )
        super().__init__(loss=loss, thr=thr, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(
                f'num_classes must be positive, got {num_classes}.'
            )
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last feature map, ``(B, C, h, w)``."""
        x = feats[-1]
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects a (B, '
                f'{self.in_channels}, h, w) feature map, got '
                f'{tuple(x.shape)}; check in_channels and the '
                f"backbone's out_indices."
            )
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class logits ``(B, K)``."""
        x = self.pre_logits(feats).mean((2, 3), keepdim=True)
        return self.classifier(x).flatten(1)

    def class_maps(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class activation maps ``(B, K, h, w)``, non-negative."""
        return F.relu(self.classifier(self.pre_logits(feats)))

    def forward_tensor(self, feats: Tuple[torch.Tensor]) -> dict:
        """``cls_score`` ``(B, K)`` and ``cams`` ``(B, K, h, w)`` (ReLU'd,
        not normalised)."""
        x = self.pre_logits(feats)
        return dict(
            cls_score=self.classifier(x.mean((2, 3), keepdim=True)).flatten(1),
            cams=F.relu(self.classifier(x)),
        )

    def _get_loss(
        self, cls_score: torch.Tensor, data_samples: List[DataSample], **kwargs
    ) -> dict:
        """``loss``: the loss module on the logits and multi-hot targets,
        averaged over all B x K entries (``avg_factor`` is not passed, unlike
        mmpretrain's ``MultiLabelClsHead``, which divides the sum by B and so
        scales the soft-margin loss by K)."""
        targets = []
        for i, sample in enumerate(data_samples):
            if 'gt_score' in sample:
                targets.append(sample.gt_score.float())
            elif 'gt_label' in sample:
                targets.append(
                    label_to_onehot(sample.gt_label, self.num_classes).float()
                )
            else:
                raise ValueError(
                    f'Training sample {i} has no image-level '
                    f'labels (gt_label or gt_score).'
                )
        target = torch.stack(targets).to(cls_score.device)
        if target.shape != cls_score.shape:
            raise ValueError(
                f'Targets of shape {tuple(target.shape)} do not '
                f'match the logits {tuple(cls_score.shape)}; '
                f'check num_classes.'
            )
        return dict(loss=self.loss_module(cls_score, target, **kwargs))
