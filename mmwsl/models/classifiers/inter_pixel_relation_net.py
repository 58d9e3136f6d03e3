# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN: inter-pixel relation network (Ahn et al., CVPR 2019) as an mmwsl
model, the mask stage of the BAS WSSS pipeline (``specs/bas.md`` 5.3)."""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement, PixelData

from mmwsl.registry import MODELS


def resnet_stages(backbone, x: torch.Tensor) -> List[torch.Tensor]:
    """The five stage maps of an ``mmpretrain.ResNet``-like backbone.

    Returns:
        list: the stem output after the max-pool, then every residual
        layer's output (``(B, C_i, h_i, w_i)``).
    """
    if getattr(backbone, 'deep_stem', False):
        x = backbone.stem(x)
    else:
        x = backbone.relu(backbone.norm1(backbone.conv1(x)))
    x = backbone.maxpool(x)
    outs = [x]
    for name in backbone.res_layers:
        x = getattr(backbone, name)(x)
        outs.append(x)
    return outs


@MODELS.register_module()
class InterPixelRelationNet(BaseModel):
    """Class-boundary and displacement network trained from IR labels.

    The backbone is frozen (weights, BN statistics, no gradient), as in IRN;
    only the head is trained, with :class:`IRNAffinityLoss` on pairs within
    ``loss.radius`` cells of the stride-4 grid.

    Modes:

    - ``'loss'``: ``data_samples[i].gt_sem_seg`` holds the IR label map of
      the (padded) input crop (0 background, ``c + 1`` class c, 255
      ignore); it is reduced to the stride-4 grid by nearest sampling
      (pixel ``4 i + 2``, as IRN's PIL 1/4 rescale) and the loss dict is
      returned.
    - ``'tensor'``: ``dict(edge=(B, 1, h, w) logits, displacement=(B, 2, h,
      w))``.
    - ``'predict'``: one data element per image with ``pred_edge``
      (:class:`PixelData`, ``(1, h, w)`` boundary probabilities).

    :meth:`edge_map` gives the random-walk input: the sigmoid of the mean
    boundary logits of an image and its flip.

    Args:
        backbone: an ``mmpretrain.ResNet`` config; use ``strides=(1, 2, 2,
            1)``, ``frozen_stages=4`` and ``norm_eval=True`` as IRN.
        head: an :class:`IRNHead` config.
        loss: an :class:`IRNAffinityLoss` config.
        stride: the boundary map's stride (4 for ResNets).
        freeze_backbone: run the backbone without gradient and in eval mode.
        test_pad_size: inputs of :meth:`edge_map` are zero-padded (after
            normalisation) at the bottom/right to at least this size, like
            IRN's ``EdgeDisplacement`` (its crop size, 512).
        data_preprocessor: defaults to ``mmseg.SegDataPreProcessor``.
        init_cfg: initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        loss: Optional[dict] = None,
        stride: int = 4,
        freeze_backbone: bool = True,
        test_pad_size: Optional[Sequence[int]] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmseg.SegDataPreProcessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg
        )
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        self.loss_module = MODELS.build(
            loss if loss is not None else dict(type='mmwsl.IRNAffinityLoss')
        )
        self.stride = stride
        self.freeze_backbone = freeze_backbone
        if test_pad_size is not None and isinstance(test_pad_size, int):
            test_pad_size = (test_pad_size, test_pad_size)
        self.test_pad_size = test_pad_size
        if freeze_backbone:
            for p in self.backbone.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        if self.freeze_backbone:
            with torch.no_grad():
                return [f.detach() for f in resnet_stages(self.backbone,
                                                          inputs)]
        return resnet_stages(self.backbone, inputs)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            edge, disp = self.head(self.extract_feat(inputs))
            return dict(edge=edge, displacement=disp)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def grid_labels(self, data_samples, size: Sequence[int]) -> torch.Tensor:
        """IR labels of the batch on the ``size`` grid, ``(B, h, w)``."""
        labels = []
        off = self.stride // 2
        h, w = size
        for i, sample in enumerate(data_samples):
            if 'gt_sem_seg' not in sample:
                raise KeyError(
                    f'IRN training sample {i} has no gt_sem_seg: the dataset '
                    f'must load the IR label map (mmseg.LoadAnnotations).'
                )
            lab = sample.gt_sem_seg.data[0]
            lab = lab[off :: self.stride, off :: self.stride][:h, :w]
            if lab.shape != (h, w):
                lab = F.pad(
                    lab,
                    (0, w - lab.shape[1], 0, h - lab.shape[0]),
                    value=255,
                )
            labels.append(lab)
        return torch.stack(labels)

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        edge, disp = self.head(self.extract_feat(inputs))
        label = self.grid_labels(data_samples, edge.shape[-2:])
        return self.loss_module(edge, disp, label.to(edge.device))

    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        edge, _ = self.head(self.extract_feat(inputs))
        prob = torch.sigmoid(edge)
        out = []
        for i in range(len(prob)):
            sample = (
                data_samples[i]
                if data_samples is not None
                else BaseDataElement()
            )
            sample.set_field(PixelData(data=prob[i]), 'pred_edge')
            out.append(sample)
        return out

    @torch.no_grad()
    def edge_map(self, inputs: torch.Tensor, flip: bool = True):
        """Boundary probabilities of one normalised image for the walk.

        Args:
            inputs: ``(1, 3, H, W)`` (or ``(3, H, W)``) normalised image.
            flip: average the logits with those of the flipped image.

        Returns:
            torch.Tensor: ``(h, w)`` boundary map with ``h = (H - 1) //
            stride + 1`` (likewise ``w``).
        """
        if inputs.dim() == 3:
            inputs = inputs[None]
        height, width = inputs.shape[-2:]
        h = (height - 1) // self.stride + 1
        w = (width - 1) // self.stride + 1
        batch = torch.cat([inputs, inputs.flip(-1)]) if flip else inputs
        ph, pw = height, width
        if self.test_pad_size is not None:
            ph = max(ph, int(self.test_pad_size[0]))
            pw = max(pw, int(self.test_pad_size[1]))
        batch = F.pad(batch, (0, pw - width, 0, ph - height))
        edge, _ = self.head(self.extract_feat(batch))
        edge = edge[:, 0, :h, :w]
        logit = (edge[0] + edge[1].flip(-1)) / 2 if flip else edge[0]
        return torch.sigmoid(logit)
