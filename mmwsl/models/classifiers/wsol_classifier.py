# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.structures import DataSample

from mmwsl.models.layers import localization_map
from mmwsl.registry import MODELS


@MODELS.register_module()
class WSOLClassifier(BaseClassifier):
    """Backbone (+ neck) + a CAM-producing head for WSOL.

    ``mode='loss'`` returns the head's loss dict; ``mode='predict'`` returns
    data samples with ``pred_score``, ``pred_label`` and ``cam``: an
    ``(H, W)`` float tensor in ``[0, 1]`` at the network-input resolution;
    ``mode='tensor'`` returns the head's raw tensors (``cls_score`` and the
    method's maps).

    Args:
        backbone: Backbone config (e.g. ``mmpretrain.ResNet``).
        head: Head config; the head implements ``loss``, ``predict``
            (setting a low-resolution ``cam`` per sample) and
            ``forward_tensor``.
        neck: Optional neck config.
        pretrained: Checkpoint to initialise the whole model from.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``.
        test_cfg: How the low-resolution map becomes ``cam``:
            ``resize_mode`` (``'bicubic'`` as wsolevaluation, or
            ``'bilinear'`` as BAS), ``normalize_first`` (BAS normalises
            before resizing) and ``eps`` of the min-max normalisation.
        init_cfg: Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmpretrain.ClsDataPreprocessor')
        super().__init__(init_cfg=init_cfg,
                         data_preprocessor=data_preprocessor)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.test_cfg = dict(resize_mode='bicubic', normalize_first=False,
                             eps=0.)
        self.test_cfg.update(test_cfg or {})

    def extract_feat(self, inputs: torch.Tensor) -> tuple:
        x = self.backbone(inputs)
        if self.neck is not None:
            x = self.neck(x)
        return x if isinstance(x, tuple) else (x, )

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.head.forward_tensor(self.extract_feat(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        samples = self.head.predict(self.extract_feat(inputs), data_samples)
        raw = torch.stack([s.cam for s in samples])
        cams = localization_map(raw, inputs.shape[-2:], **self.test_cfg)
        for sample, cam in zip(samples, cams):
            sample.cam = cam
        return samples
