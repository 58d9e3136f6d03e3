# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

from .wsol_classifier import WSOLClassifier


@MODELS.register_module()
class C2AM(WSOLClassifier):
    """C²AM: contrastive learning of a class-agnostic activation map
    (Xie et al., CVPR 2022).

    A backbone whose last two stages share one stride (ResNet-50 with
    strides ``(1, 2, 2, 1)``: output stride 16) feeds
    :class:`~mmwsl.models.heads.C2AMHead`, which predicts one
    class-agnostic map and contrasts the features it pools. Training uses
    no labels, so any folder of images can train it.

    Modes:

    - ``'loss'``: ``loss_fg_fg``, ``loss_bg_bg`` and ``loss_bg_fg``;
    - ``'tensor'``: ``fg_feats``, ``bg_feats`` ``(B, C)`` and ``ccam``
      ``(B, 1, h, w)`` (the sigmoid map, before the polarity flip);
    - ``'predict'``: data samples with ``cam`` (``(H, W)`` in ``[0, 1]`` at
      the network-input resolution: the foreground map after the polarity
      flip, resized and min-max normalised as set by ``test_cfg``) and
      ``c2am_map`` (the same map at feature resolution, not normalised).
      There is no class prediction; pair the model with a classifier
      (:class:`C2AMWithClassifier`) for Top-1/Top-5 Loc.

    The reference loads its MoCo/DetCo backbones non-strictly, which hides
    a checkpoint whose keys do not match. Here, when the backbone has a
    ``Pretrained`` ``init_cfg``, ``init_weights`` checks that the file holds
    every backbone tensor (``num_batches_tracked`` aside) and nothing but
    them and ``fc.*`` (``check_pretrained=False`` skips the check).

    Args:
        backbone: Backbone config, e.g. ``mmpretrain.ResNet`` with
            ``strides=(1, 2, 2, 1), out_indices=(2, 3)``.
        head: Head config, normally ``mmwsl.C2AMHead``.
        neck: Optional neck config.
        pretrained: Checkpoint to initialise the whole model from.
        data_preprocessor: Defaults to ``mmpretrain.ClsDataPreprocessor``.
        test_cfg: How the low-resolution map becomes ``cam`` (see
            :class:`WSOLClassifier`); default bicubic resize then exact
            min-max normalisation, as for the CAM baseline.
        init_cfg: Initialisation config.
        check_pretrained: Check the backbone's pretrained checkpoint keys.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        neck: Optional[dict] = None,
        pretrained: Optional[str] = None,
        data_preprocessor: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
        check_pretrained: bool = True,
    ):
        super().__init__(
            backbone=backbone,
            head=head,
            neck=neck,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
        )
        self.check_pretrained = check_pretrained

    def init_weights(self) -> None:
        super().init_weights()
        cfg = getattr(self.backbone, 'init_cfg', None)
        if (
            self.check_pretrained
            and isinstance(cfg, dict)
            and cfg.get('type') == 'Pretrained'
        ):
            check_backbone_checkpoint(
                self.backbone, cfg['checkpoint'], cfg.get('prefix')
            )

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        mode: str = 'tensor',
    ):
        if mode == 'tensor':
            return self.head.forward_tensor(self.extract_feat(inputs))
        return super().forward(inputs, data_samples, mode)

    def foreground_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """BN output ``z`` ``(B, 1, h, w)`` of the head (before the sigmoid
        and the polarity flip), for the multi-scale WSSS inference."""
        return self.head(self.extract_feat(inputs), logits=True)[2]


def check_backbone_checkpoint(
    backbone: torch.nn.Module, checkpoint: str, prefix: Optional[str] = None
) -> None:
    """Raise ``ValueError`` unless ``checkpoint`` holds every tensor of
    ``backbone`` and nothing else but a classifier (``fc.*``).

    ``num_batches_tracked`` buffers may be missing (old torchvision files
    lack them). With ``prefix``, only keys starting with it are compared,
    without it (as mmengine's ``Pretrained`` init loads them).
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    state = _load_checkpoint(checkpoint, map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    keys = set(state)
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        keys = {k[len(prefix) :] for k in keys if k.startswith(prefix)}
    expected = {
        k
        for k in backbone.state_dict()
        if not k.endswith('num_batches_tracked')
    }
    missing = sorted(expected - keys)
    unexpected = sorted(
        k for k in keys - set(backbone.state_dict()) if not k.startswith('fc.')
    )
    if missing or unexpected:
        raise ValueError(
            f'The pretrained checkpoint {checkpoint} does not match the '
            f'backbone: {len(missing)} backbone tensors are missing '
            f'{missing[:5]}, {len(unexpected)} keys are unexpected '
            f'{unexpected[:5]}. Check the file (or the init_cfg prefix); '
            f'set check_pretrained=False to load it anyway.'
        )
