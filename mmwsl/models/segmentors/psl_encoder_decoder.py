# Copyright (c) mmwsl contributors. All rights reserved.
"""MMSeg ``EncoderDecoder`` with AE-PSL's online prohibitive segmentation
learning (``specs/erasing.md`` 1.9, 3.6)."""
import copy
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder

from mmwsl.registry import MODELS

IGNORE_INDEX = 255


def prohibitive_weights(scores: torch.Tensor,
                        labels: torch.Tensor) -> torch.Tensor:
    """Class weights of the prohibitive label: 1 for the background,
    ``scores[c]`` for the image's classes, 0 for the others.

    Args:
        scores: ``(B, C)`` classification scores in ``[0, 1]``.
        labels: ``(B, C)`` multi-hot image labels.

    Returns:
        torch.Tensor: ``(B, C + 1)`` weights (background first).
    """
    if scores.shape != labels.shape:
        raise ValueError(f'scores {tuple(scores.shape)} and labels '
                         f'{tuple(labels.shape)} differ in shape.')
    fg = scores * (labels > 0).to(scores)
    return torch.cat([fg.new_ones(fg.size(0), 1), fg], dim=1)


@torch.no_grad()
def prohibitive_label(probs: torch.Tensor, scores: torch.Tensor,
                      labels: torch.Tensor) -> torch.Tensor:
    """Online segmentation label ``argmax_c w_c P_c`` (no gradient).

    Args:
        probs: ``(B, C + 1, H, W)`` segmentation softmax (background first).
        scores: ``(B, C)`` classification scores in ``[0, 1]``.
        labels: ``(B, C)`` multi-hot image labels.

    Returns:
        torch.Tensor: ``(B, H, W)`` int64 labels in ``[0, C]``.
    """
    w = prohibitive_weights(scores.to(probs), labels)
    if w.size(1) != probs.size(1):
        raise ValueError(f'{probs.size(1)} segmentation classes but '
                         f'{w.size(1) - 1} foreground scores + background.')
    return (probs * w[:, :, None, None]).argmax(1)


@MODELS.register_module()
class PSLEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` trained with AE pseudo-labels plus PSL's online
    prohibitive labels.

    A classification branch (global average pooling of the backbone
    feature map ``cls_in_index``, a linear layer to the C foreground
    classes, sigmoid) shares the backbone. In training, with ``P`` the
    decode head's softmax (upsampled as the decode loss does) and ``nu``
    the classification scores, the online label is ``argmax_c w_c P_c``
    with ``w_bg = 1``, ``w_c = nu_c`` for the image's classes and 0 for
    absent ("prohibited") classes, computed under ``no_grad``; padding is
    ignored. Losses:

    * ``loss_seg_ae``: the decode head's loss on the AE pseudo-labels
      (``gt_sem_seg``), times ``ae_weight``;
    * ``loss_seg_psl``: the same loss on the online labels, times
      ``psl_weight``;
    * ``loss_cls``: ``cls_loss`` (default squared error on sigmoid scores)
      against the true image-level labels, read from each sample's
      ``img_labels`` metainfo (``mmwsl.LoadImageLevelLabels`` +
      ``PackSegInputs(meta_keys=(..., 'img_labels'))``); they are not
      derived from the pseudo mask.

    The auxiliary head, if any, is trained on the AE labels. Inference is
    the segmentation branch (the parent's).

    Args:
        num_fg_classes: C foreground classes (the decode head has C + 1).
        cls_in_channels: channels of the backbone output ``cls_in_index``.
        cls_in_index: which backbone output feeds the classifier.
        cls_loss: loss config on ``(B, C)`` logits and multi-hot targets.
        ae_weight: weight of ``loss_seg_ae``.
        psl_weight: weight of ``loss_seg_psl``.
        **kwargs: the arguments of mmseg's ``EncoderDecoder``.
    """

    def __init__(self,
                 *args,
                 num_fg_classes: int,
                 cls_in_channels: int,
                 cls_in_index: int = -1,
                 cls_loss: Optional[dict] = None,
                 ae_weight: float = 1.0,
                 psl_weight: float = 1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if num_fg_classes + 1 != self.decode_head.num_classes:
            raise ValueError(
                f'num_fg_classes={num_fg_classes} but the decode head has '
                f'{self.decode_head.num_classes} classes; it needs '
                f'num_fg_classes + 1 (background first).')
        self.num_fg_classes = num_fg_classes
        self.cls_in_index = cls_in_index
        self.cls_fc = nn.Linear(cls_in_channels, num_fg_classes)
        self.cls_loss = MODELS.build(
            cls_loss or dict(type='mmwsl.SigmoidMSELoss', loss_weight=1.0))
        self.ae_weight = ae_weight
        self.psl_weight = psl_weight

    def classify(self, feats) -> torch.Tensor:
        """Class logits ``(B, C)`` from the backbone features."""
        x = feats[self.cls_in_index]
        return self.cls_fc(x.mean((2, 3)))

    def image_labels(self, data_samples: List) -> torch.Tensor:
        """``(B, C)`` multi-hot true image labels from ``img_labels``."""
        rows = []
        for i, sample in enumerate(data_samples):
            labels = sample.metainfo.get('img_labels')
            if labels is None:
                raise KeyError(
                    f'Training sample {i} ({sample.metainfo.get("img_path")})'
                    f' has no img_labels; add mmwsl.LoadImageLevelLabels to '
                    f"the train pipeline and 'img_labels' to PackSegInputs' "
                    f'meta_keys.')
            row = torch.zeros(self.num_fg_classes)
            idx = torch.as_tensor(list(labels), dtype=torch.long)
            if len(idx) and (idx.min() < 0 or idx.max() >= len(row)):
                raise ValueError(f'img_labels {list(labels)} of sample {i} '
                                 f'are outside [0, {len(row)}).')
            row[idx] = 1
            rows.append(row)
        return torch.stack(rows)

    def _scaled(self, losses: dict, name: str, weight: float) -> dict:
        out = {}
        total = None
        for key, value in losses.items():
            if key.startswith('loss'):
                total = value if total is None else total + value
            else:
                out[f'{key}_{name}'] = value
        out[f'loss_seg_{name}'] = weight * total
        return out

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        feats = self.extract_feat(inputs)
        seg_logits = self.decode_head.forward(feats)
        head = self.decode_head
        losses = self._scaled(head.loss_by_feat(seg_logits, data_samples),
                              'ae', self.ae_weight)
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train(feats, data_samples))

        cls_logits = self.classify(feats)
        labels = self.image_labels(data_samples).to(cls_logits.device)
        losses['loss_cls'] = self.cls_loss(cls_logits, labels)

        with torch.no_grad():
            size = data_samples[0].gt_sem_seg.data.shape[-2:]
            probs = F.interpolate(seg_logits.detach(), size=size,
                                  mode='bilinear',
                                  align_corners=head.align_corners).softmax(1)
            online = prohibitive_label(probs, cls_logits.detach().sigmoid(),
                                       labels)
            psl_samples = []
            for i, sample in enumerate(data_samples):
                label = online[i].clone()
                h, w = sample.metainfo.get('img_shape', size)[:2]
                label[h:, :] = IGNORE_INDEX
                label[:, w:] = IGNORE_INDEX
                new = copy.copy(sample)
                new.gt_sem_seg = PixelData(data=label[None].to(
                    sample.gt_sem_seg.data.dtype))
                psl_samples.append(new)
        losses.update(
            self._scaled(head.loss_by_feat(seg_logits, psl_samples), 'psl',
                         self.psl_weight))
        return losses
