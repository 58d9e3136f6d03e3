# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch.func import functional_call

from mmwsl.models.backbones.forward_steps import run_steps, split_steps
from mmwsl.registry import MODELS

from .wsol_classifier import WSOLClassifier


@MODELS.register_module()
class BAS(WSOLClassifier):
    """BAS: Background Activation Suppression for WSOL (CVPR 2022).

    The backbone is cut after the forward step ``tap`` into the lower stage
    f1 (input -> ``F_tap``) and the late stage f2 (``F_tap`` -> late
    features), optionally preceded by a ``late_pool`` x ``late_pool``
    max-pool::

        F_tap = f1(x)                        # e.g. (B, 1024, 28, 28)
        late  = f2(maxpool(F_tap))           # e.g. (B, 2048, 14, 14)

    and the head (:class:`~mmwsl.models.heads.BASHead`) gets
    ``(F_tap, late)``. For the background branch of the loss the
    classifier hands the head f2 as a function whose weights are detached
    and whose BatchNorm layers work on copies of their running statistics:
    in training they normalise the erased features with their own batch
    statistics and the real running statistics are not touched, as with
    the per-step deep copy of the reference code, without copying weights
    or computing gradients for them.

    Backbones: mmpretrain ``ResNet`` (``tap='layer3'``, ``late_pool=2``),
    mmpretrain ``VGG`` (``tap='features.12'``, conv4_3 before pool4),
    :class:`~mmwsl.models.backbones.MobileNetV1` (``tap='layers.11'``) and
    :class:`~mmwsl.models.backbones.WSOLInceptionV3` (``tap='Mixed_6e'``);
    see :func:`~mmwsl.models.backbones.forward_steps.forward_steps`.

    Args:
        backbone: Backbone config; the whole backbone, cut at ``tap``.
        head: Head config, normally ``mmwsl.BASHead``.
        tap: Name of the forward step whose output is ``F_tap``.
        late_pool: Kernel (= stride) of a max-pool applied to ``F_tap``
            before the late stage; None for none.
        pretrained: Checkpoint to initialise the whole model from.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``.
        test_cfg: How the raw map becomes ``cam``; defaults to the BAS
            protocol: min-max normalise (``eps=1e-5``) then bilinear resize.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        tap: str,
        late_pool: Optional[int] = None,
        pretrained: Optional[str] = None,
        data_preprocessor: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        bas_test_cfg = dict(
            resize_mode='bilinear', normalize_first=True, eps=1e-5
        )
        bas_test_cfg.update(test_cfg or {})
        super().__init__(
            backbone=backbone,
            head=head,
            neck=None,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            test_cfg=bas_test_cfg,
            init_cfg=init_cfg,
        )
        if late_pool is not None and late_pool < 1:
            raise ValueError(
                f'late_pool must be None or >= 1, got {late_pool}'
            )
        self.tap = tap
        self.late_pool = late_pool
        self.lower_steps, self.late_steps = split_steps(self.backbone, tap)

    def forward_lower(self, inputs: torch.Tensor) -> torch.Tensor:
        """f1: ``(B, 3, H, W)`` -> ``F_tap``."""
        return run_steps(self.backbone, self.lower_steps, inputs)

    def forward_late(self, tap: torch.Tensor) -> torch.Tensor:
        """f2: ``F_tap`` -> late features."""
        if self.late_pool is not None:
            tap = F.max_pool2d(tap, self.late_pool)
        return run_steps(self.backbone, self.late_steps, tap)

    def forward_late_frozen(self, tap: torch.Tensor) -> torch.Tensor:
        """f2 with detached weights and scratch copies of its buffers.

        Gradients flow to ``tap`` only; BatchNorm layers keep their current
        mode (batch statistics in training) and update only the copies, so
        the model's running statistics are unchanged.
        """
        x = tap
        if self.late_pool is not None:
            x = F.max_pool2d(x, self.late_pool)
        for name in self.late_steps:
            module = self.backbone.get_submodule(name)
            tensors = {k: p.detach() for k, p in module.named_parameters()}
            tensors.update({k: b.clone() for k, b in module.named_buffers()})
            x = functional_call(module, tensors, (x,))
        return x

    def extract_feat(
        self, inputs: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(F_tap, late)`` feature maps."""
        tap = self.forward_lower(inputs)
        return tap, self.forward_late(tap)

    def loss(
        self, inputs: torch.Tensor, data_samples: List[DataSample]
    ) -> dict:
        """``loss_cls``, ``loss_fg``, ``loss_bg`` and ``loss_area``."""
        return self.head.loss(
            self.extract_feat(inputs),
            data_samples,
            late_stage=self.forward_late_frozen,
        )
