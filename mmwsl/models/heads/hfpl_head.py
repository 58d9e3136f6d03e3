# Copyright (c) mmwsl contributors. All rights reserved.
"""HFPL add-on for the multi-label CAM head (spec sections 2.5, 3.4, 6).

The head keeps the baseline's GAP classifier and adds, on the CAM logits at
the feature resolution:

* importance-sampling pooling mixed with GAP:
  ``(1 - λ) · GAP-BCE + λ · IS-BCE`` (HFPL: λ = 0.2, S = 10, binomial);
* auxiliary losses on the normalised CAMs, e.g. the feature-similarity
  loss, which needs the input image (passed by
  :class:`~mmwsl.models.classifiers.HFPLCAMClassifier`).
"""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsl.models.losses.hfpl_loss import hfpl_probs
from mmwsl.registry import MODELS

from .multilabel_cam_head import MultiLabelCAMHead


@MODELS.register_module()
class HFPLHead(MultiLabelCAMHead):
    """Multi-label CAM head with HFPL's pooling and auxiliary losses.

    Loss terms (their sum is the objective):

    - ``loss``: ``(1 - λ)`` times the baseline GAP loss;
    - ``loss_is``: ``λ`` times the importance-sampling loss on the
      ``(B, K, h, w)`` class logits (``pooling='importance_sampling'``);
    - ``loss_<name>``: each auxiliary loss on the image at the CAM grid and
      the normalised CAMs ``(B, K+1, h, w)`` (background first, built as
      in spec section 3.2), e.g. ``loss_fs`` for the feature similarity.

    Args:
        num_classes: Foreground classes K.
        in_channels: Channels of the last feature map.
        pooling: ``'gap'`` (the baseline) or ``'importance_sampling'``.
        is_weight: λ, the share of the importance-sampling loss (0.2;
            1.0 drops GAP).
        is_loss: Importance-sampling loss config; default
            ``mmwsl.ImportanceSamplingLoss`` with ``num_samples=10`` and
            ``posterior='binomial'``. With ``posterior='multinomial'``
            (ICAM, spec section 5) the softmax runs over a constant
            background logit ``bg_logit`` and the K class logits, since
            this head has no trained background channel.
        bg_logit: The constant background logit of the multinomial
            variant.
        aux_losses: Configs of auxiliary losses called as
            ``loss(image, probs)``; each needs a ``loss_name`` key in the
            config or gets ``loss_fs`` / ``loss_aux<i>``.
        aux_probs: CAMs the auxiliary losses see: ``'hfpl'`` (max-norm,
            label mask, background ``1 - max``) or ``'softmax'`` (ICAM:
            softmax over ``[bg_logit, logits]``).
        **kwargs: Passed to :class:`MultiLabelCAMHead`.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        pooling: str = 'importance_sampling',
        is_weight: float = 0.2,
        is_loss: Optional[dict] = None,
        bg_logit: float = 0.0,
        aux_losses: Sequence[dict] = (),
        aux_probs: str = 'hfpl',
        **kwargs,
    ):
        super().__init__(num_classes, in_channels, **kwargs)
        if pooling not in ('gap', 'importance_sampling'):
            raise ValueError(
                "pooling must be 'gap' or 'importance_sampling', got "
                f'{pooling!r}.'
            )
        if not 0.0 <= is_weight <= 1.0:
            raise ValueError(f'is_weight must be in [0, 1], got {is_weight}.')
        if aux_probs not in ('hfpl', 'softmax'):
            raise ValueError(
                f"aux_probs must be 'hfpl' or 'softmax', got {aux_probs!r}."
            )
        self.pooling = pooling
        self.is_weight = is_weight if pooling != 'gap' else 0.0
        self.bg_logit = bg_logit
        self.aux_probs = aux_probs
        if is_loss is None:
            is_loss = dict(
                type='mmwsl.ImportanceSamplingLoss',
                num_samples=10,
                posterior='binomial',
            )
        self.is_loss = MODELS.build(is_loss) if pooling != 'gap' else None
        self.aux_names: List[str] = []
        modules = []
        for i, cfg in enumerate(aux_losses):
            cfg = dict(cfg)
            default = (
                'loss_fs'
                if 'FeatureSimilarity' in str(cfg.get('type'))
                else f'loss_aux{i}'
            )
            name = cfg.pop('loss_name', default)
            if not name.startswith('loss_') or name in self.aux_names:
                raise ValueError(
                    f'Auxiliary loss names must start with "loss_" and be '
                    f'unique, got {name!r}.'
                )
            self.aux_names.append(name)
            modules.append(MODELS.build(cfg))
        self.aux_losses = torch.nn.ModuleList(modules)

    def _with_bg(self, logits: torch.Tensor) -> torch.Tensor:
        bg = logits.new_full(logits[:, :1].shape, self.bg_logit)
        return torch.cat([bg, logits], dim=1)

    def loss(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: List[DataSample],
        images: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> dict:
        """Loss terms.

        Args:
            feats: Backbone features; the last is ``(B, C, h, w)``.
            data_samples: Samples with ``gt_score`` or ``gt_label``.
            images: ``(B, 3, H, W)`` RGB input in ``[0, 1]``, resized here
                to the CAM grid (bilinear, ``align_corners=True``);
                required by the auxiliary losses.
        """
        x = self.pre_logits(feats)
        maps = self.classifier(x)  # (B, K, h, w) logits
        cls_score = maps.mean((2, 3))  # = classifier(GAP(x)), bias-free
        losses = self._get_loss(cls_score, data_samples, **kwargs)
        target = self._targets(data_samples).to(maps)
        if self.is_loss is not None:
            logits = maps
            if self.is_loss.posterior == 'multinomial':
                logits = self._with_bg(maps)
            losses['loss'] = (1 - self.is_weight) * losses['loss']
            losses['loss_is'] = self.is_weight * self.is_loss(logits, target)
        if len(self.aux_losses):
            if images is None:
                raise ValueError(
                    f'{type(self).__name__} has auxiliary losses that need '
                    'the input image; use mmwsl.HFPLCAMClassifier or pass '
                    'images=(B, 3, H, W) RGB in [0, 1].'
                )
            h, w = maps.shape[-2:]
            grid = F.interpolate(
                images.detach().to(maps),
                size=(h, w),
                mode='bilinear',
                align_corners=True,
            ).clamp(0, 1)
            if self.aux_probs == 'hfpl':
                probs = hfpl_probs(maps, target)
            else:
                probs = self._with_bg(maps).softmax(dim=1)
            for name, module in zip(self.aux_names, self.aux_losses):
                losses[name] = module(grid, probs)
        return losses

    def _targets(self, data_samples: List[DataSample]) -> torch.Tensor:
        targets = []
        for sample in data_samples:
            if 'gt_score' in sample:
                targets.append(sample.gt_score.float())
            else:
                onehot = torch.zeros(self.num_classes)
                onehot[sample.gt_label] = 1
                targets.append(onehot)
        return torch.stack(targets)
