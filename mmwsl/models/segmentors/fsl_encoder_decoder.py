# Copyright (c) mmwsl contributors. All rights reserved.
"""MMSeg ``EncoderDecoder`` trained with HFPL's feature-similarity loss as an
extra term (spec section 6, applied to a segmentor on pseudo-labels)."""

from typing import List, Optional

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.utils import add_prefix

from mmwsl.registry import MODELS


@MODELS.register_module()
class FSLEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that adds the feature-similarity loss on the decode
    head's logits.

    The decode head runs once; its ``(B, C, h, w)`` logits (``C`` classes,
    background included) give both the usual decode losses and, after a
    softmax over the classes, the CAM-like maps of the feature-similarity
    loss. The image the loss compares colours of is the network input
    de-normalised with the data preprocessor's ``mean``/``std`` (divided by
    255), resized to ``(h, w)`` with bilinear interpolation
    (``align_corners=True``). The loss is reported as ``loss_fs``.
    Inference is the parent's.

    Args:
        fsl: Loss config; default ``mmwsl.FeatureSimilarityLoss`` (μ 2.5,
            σ 5 cells of the logit grid, weight 1.0, dense or chunked by
            size).
        **kwargs: The arguments of mmseg's ``EncoderDecoder``.
    """

    def __init__(self, *args, fsl: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if fsl is None:
            fsl = dict(type='mmwsl.FeatureSimilarityLoss', loss_weight=1.0)
        self.fsl = MODELS.build(fsl)

    def input_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """Network input ``(B, 3, H, W)`` -> colours in ``[0, 1]``."""
        pre = self.data_preprocessor
        x = inputs.detach()
        if getattr(pre, '_enable_normalize', False):
            x = x * pre.std + pre.mean
        return (x / 255.0).clamp(0, 1)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.forward(x)
        losses = add_prefix(
            self.decode_head.loss_by_feat(seg_logits, data_samples), 'decode'
        )
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        grid = F.interpolate(
            self.input_images(inputs).to(seg_logits),
            size=seg_logits.shape[-2:],
            mode='bilinear',
            align_corners=True,
        )
        losses['loss_fs'] = self.fsl(grid, seg_logits.softmax(dim=1))
        return losses
