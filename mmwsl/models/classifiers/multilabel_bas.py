# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS

from .bas import BAS


@MODELS.register_module()
class MultiLabelBAS(BAS):
    """BAS for weakly supervised semantic segmentation (BAS-Extension).

    The backbone is cut at ``tap`` as in :class:`BAS`; the reference model
    is a ResNet-50 with strides ``(1, 2, 2, 1)`` (output stride 16), the
    tap after layer3 (1024 x h x w) and layer4 as the late stage (2048 x h
    x w, no pooling in between, ``late_pool=None``). The head is
    :class:`~mmwsl.models.heads.MultiLabelBASHead` (multi-label loss, one
    random positive class per image for the foreground map, detached class
    maps in the foreground guidance).

    - ``mode='loss'``: ``loss_cls``, ``loss_fg``, ``loss_bg``,
      ``loss_area``.
    - ``mode='tensor'``: ``dict(cls_score=(B, K), fg_map=(B, K, h, w),
      cams=(B, K, h, w))``; ``fg_map`` holds the sigmoid foreground maps of
      all classes, the maps the reference code turns into seeds, so
      :func:`mmwsl.apis.multiscale_cams` with ``cam_key='fg_map'`` (and
      ``tools/generate_pseudo_labels.py`` with
      ``pseudo_label_cfg.cam_key='fg_map'``) makes BAS seeds.
    - ``mode='predict'``: samples with ``pred_score`` (sigmoid),
      ``pred_label`` and ``fg_map`` ``(K, H, W)`` resized bilinearly to the
      input size (values in ``(0, 1)``, not normalised).

    Args: as :class:`BAS`; ``test_cfg`` is unused.
    """

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        samples = self.head.predict(self.extract_feat(inputs), data_samples)
        maps = torch.stack([s.fg_map for s in samples])
        maps = F.interpolate(
            maps, inputs.shape[-2:], mode='bilinear', align_corners=False
        )
        for sample, fg_map in zip(samples, maps):
            sample.fg_map = fg_map
        return samples
