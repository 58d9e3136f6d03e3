# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

from .wsol_classifier import WSOLClassifier


@MODELS.register_module()
class MultiLabelCAMClassifier(WSOLClassifier):
    """Multi-label image classifier whose head gives class activation maps
    (the CAM stage of a WSSS pipeline).

    - ``mode='loss'``: the head's loss dict (multi-hot targets from
      ``gt_score``, or from ``gt_label`` index lists).
    - ``mode='predict'``: data samples with ``pred_score`` ``(K,)``
      (sigmoid) and ``pred_label`` (classes above the head's ``thr``), as
      mmpretrain's multi-label metrics expect.
    - ``mode='tensor'``: ``dict(cls_score=(B, K), cams=(B, K, h, w))``, the
      non-negative, unnormalised maps at the feature resolution; this is
      what :func:`mmwsl.apis.multiscale_cams` consumes.

    Args:
        backbone: Backbone config (e.g. ``mmpretrain.ResNet`` with
            ``strides=(1, 2, 2, 1)`` for output stride 16).
        head: Head config, e.g. ``mmwsl.MultiLabelCAMHead``.
        neck: Optional neck config.
        pretrained: Checkpoint to initialise the whole model from.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``;
            set ``num_classes`` and ``to_onehot=True`` for multi-hot
            targets.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        neck: Optional[dict] = None,
        pretrained: Optional[str] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(
            backbone=backbone,
            head=head,
            neck=neck,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        return self.head.predict(self.extract_feat(inputs), data_samples)
