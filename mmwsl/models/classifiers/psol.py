# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS


def box_map(box: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A map that is 1 on the pixels a continuous box covers and 0
    elsewhere.

    Pixel column ``c`` is covered when ``floor(x0) <= c < ceil(x1)``; an
    empty box covers its nearest pixel, so the map always has foreground
    and any thresholded box extraction recovers the box.

    Args:
        box: ``(4, )`` ``(x0, y0, x1, y1)`` in pixels.
        height: Map height.
        width: Map width.
    """
    x0 = int(min(max(float(box[0]), 0), width - 1))
    y0 = int(min(max(float(box[1]), 0), height - 1))
    x1 = max(int(torch.ceil(box[2]).clamp(max=width)), x0 + 1)
    y1 = max(int(torch.ceil(box[3]).clamp(max=height)), y0 + 1)
    out = torch.zeros(height, width, device=box.device)
    out[y0:y1, x0:x1] = 1
    return out


@MODELS.register_module()
class PSOLRegressor(BaseModel):
    """PSOL: a class-agnostic box regressor trained on pseudo boxes.

    Backbone (+ neck) + :class:`~mmwsl.models.heads.PSOLHead`. Trained on
    the C²AM pseudo boxes (``mmwsl.PseudoBoxDataset``); predicts one box per
    image. ``predict`` sets ``pred_bboxes`` (``(1, 4)`` xyxy, continuous,
    input pixels) and ``cam``: the box drawn as a binary map at the input
    resolution (:func:`box_map`), so the WSOL metrics apply unchanged
    (every threshold in (0, 1) gives back the box). Pair it with a
    classifier (:class:`C2AMWithClassifier`) for Top-1/Top-5 Loc.

    Args:
        backbone: Backbone config (e.g. ``mmpretrain.ResNet``, depth 50).
        head: Head config, normally ``mmwsl.PSOLHead``.
        neck: Optional neck config.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        neck: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmpretrain.ClsDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg
        )
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)

    def extract_feat(self, inputs: torch.Tensor) -> tuple:
        x = self.backbone(inputs)
        if self.neck is not None:
            x = self.neck(x)
        return x if isinstance(x, tuple) else (x,)

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        mode: str = 'tensor',
    ):
        if mode == 'tensor':
            return dict(pred_xywh=self.head(self.extract_feat(inputs)))
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        """Samples with ``pred_bboxes`` and the box map ``cam``."""
        height, width = inputs.shape[-2:]
        xywh = self.head(self.extract_feat(inputs)).float()
        scale = xywh.new_tensor([width, height, width, height])
        boxes = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1) * scale
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(boxes))]
        for sample, box in zip(data_samples, boxes):
            sample.set_field(box[None], 'pred_bboxes', field_type='data')
            sample.set_field(
                box_map(box, height, width), 'cam', field_type='data'
            )
        return data_samples
