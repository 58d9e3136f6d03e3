# Copyright (c) mmwsl contributors. All rights reserved.
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample
from torch.func import functional_call

from mmwsl.registry import MODELS

from .cam_head import select_cam_labels


@MODELS.register_module()
class BASHead(ClsHead):
    """Head of BAS (Background Activation Suppression, CVPR 2022).

    It takes two backbone feature maps, the *tap* ``F_tap`` (end of the
    lower stage f1) and the *late* features (end of the late stage f2), and
    holds

    - the classification head h (``classifier``): 3x3 convs with ReLU
      through ``mid_channels``, then a 1x1 conv to the ``K`` class
      activation maps ``A`` (optionally followed by ReLU, as in the CVPR
      code); the logits are ``S = GAP(A)``;
    - the generator g (``generator``): a 3x3 conv from ``F_tap`` to ``K``
      maps, followed by a sigmoid: the foreground maps ``M``.

    Training (:meth:`loss`) with ground-truth labels ``y``:

    - ``M_fg = M[y]`` (the ground-truth class map), ``(B, h, w)``;
    - ``loss_cls = CE(S, y)``;
    - ``loss_fg = alpha * CE(GAP(A * pool(M_fg)), y)`` with ``pool`` the
      average pooling of ``M_fg`` to the size of ``A`` (2x2 in BAS); ``A``
      is not detached;
    - background branch: ``F_bg = sg(F_tap) * (1 - M_fg)`` goes through the
      late stage and h with their current weights but without gradient to
      those weights (BN of the late stage in its current mode, batch
      statistics in training, running statistics untouched); the
      ground-truth logit ``S_bg`` of the result and the detached ``S[y]``
      give ``loss_bg`` (:class:`~mmwsl.models.losses.
      BackgroundActivationLoss`);
    - ``loss_area = beta * mean(M_fg)``.

    So ``loss_bg`` and ``loss_area`` train only g and f1 (through g's
    input), ``loss_cls`` trains f1, f2 and h, and ``loss_fg`` all four.

    Inference (:meth:`predict`): the raw ``cam`` of a sample is the mean of
    the foreground maps of its top-``cam_topk`` predicted classes, or, with
    ``cam_topk=1``, the map of the class chosen by ``cam_class`` (the
    ground-truth class by default, the protocol of ILSVRC and OpenImages).

    Args:
        num_classes: Number of classes ``K``.
        in_channels: Channels of the late feature map (input of h).
        tap_channels: Channels of ``F_tap`` (input of g).
        mid_channels: Widths of the 3x3 convs of h; ``()`` leaves only the
            1x1 conv.
        final_relu: End h with ReLU (CVPR code) or not (BAS-Extension).
        bias: Convs of h and g with bias (WSOL models) or without (the
            WSSS model of the extension: ``mid_channels=()``, no bias).
        loss: Classification loss (``loss_cls``).
        loss_fg: Loss on the foreground-masked logits (``loss_fg``); its
            ``loss_weight`` is alpha.
        loss_bg: Background activation loss (``loss_bg``).
        loss_area: Area loss (``loss_area``); its ``loss_weight`` is beta.
        cam_topk: Number of top predicted classes whose maps are averaged
            at inference (clipped to ``num_classes``); 1 uses
            ``cam_class``.
        cam_class: With ``cam_topk=1``: ``'gt'`` (ground-truth class when
            the sample has one, else the top-1 prediction) or ``'pred'``.
        topk: Top-k of the training accuracy when ``cal_acc``.
        cal_acc: Log training accuracy.
        init_cfg: Initialisation config (xavier-uniform convs with zero
            bias as in the ResNet/MobileNet/Inception models).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        tap_channels: int,
        mid_channels: Sequence[int] = (1024, 1024),
        final_relu: bool = False,
        bias: bool = True,
        loss: dict = dict(  # noqa: B006
            type='mmpretrain.CrossEntropyLoss',
            loss_weight=1.0,
        ),
        loss_fg: dict = dict(  # noqa: B006
            type='mmpretrain.CrossEntropyLoss',
            loss_weight=0.5,
        ),
        loss_bg: dict = dict(  # noqa: B006
            type='mmwsl.BackgroundActivationLoss',
        ),
        loss_area: dict = dict(  # noqa: B006
            type='mmwsl.AreaLoss',
            loss_weight=1.5,
        ),
        cam_topk: int = 1,
        cam_class: str = 'gt',
        topk: Tuple[int, ...] = (1,),
        cal_acc: bool = False,
        init_cfg: Optional[dict] = dict(  # noqa: B006
            type='Xavier', layer='Conv2d', distribution='uniform'
        ),
    ):
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg
        )
        if cam_class not in ('gt', 'pred'):
            raise ValueError(
                f"cam_class must be 'gt' or 'pred', got {cam_class!r}"
            )
        if cam_topk < 1:
            raise ValueError(f'cam_topk must be >= 1, got {cam_topk}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.tap_channels = tap_channels
        self.cam_topk = cam_topk
        self.cam_class = cam_class

        layers: List[nn.Module] = []
        channels = in_channels
        for width in mid_channels:
            layers += [
                nn.Conv2d(channels, width, 3, padding=1, bias=bias),
                nn.ReLU(inplace=True),
            ]
            channels = width
        layers.append(nn.Conv2d(channels, num_classes, 1, bias=bias))
        if final_relu:
            layers.append(nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(*layers)
        self.generator = nn.Conv2d(
            tap_channels, num_classes, 3, padding=1, bias=bias
        )

        self.loss_fg = MODELS.build(loss_fg)
        self.loss_bg = MODELS.build(loss_bg)
        self.loss_area = MODELS.build(loss_area)

    def pre_logits(
        self, feats: Tuple[torch.Tensor, ...]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Check and return ``(F_tap, late)``: ``(B, C_tap, h, w)`` and
        ``(B, C_late, h', w')``."""
        if len(feats) != 2:
            raise ValueError(
                f'{type(self).__name__} expects (tap, late) '
                f'feature maps, got {len(feats)} tensors; use '
                f'it with mmwsl.BAS.'
            )
        tap, late = feats
        for name, x, channels in (
            ('tap', tap, self.tap_channels),
            ('late', late, self.in_channels),
        ):
            if x.dim() != 4 or x.size(1) != channels:
                raise ValueError(
                    f'{type(self).__name__} expects a (B, {channels}, h, w) '
                    f'{name} feature map, got {tuple(x.shape)}; check '
                    f'{"tap_channels" if name == "tap" else "in_channels"} '
                    f"and the classifier's tap."
                )
        return tap, late

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class scores ``S``, ``(B, K)``."""
        return self.classifier(self.pre_logits(feats)[1]).mean((2, 3))

    def fg_maps(self, tap: torch.Tensor) -> torch.Tensor:
        """Foreground maps ``M = sigmoid(g(F_tap))``, ``(B, K, h, w)``."""
        return self.generator(tap).sigmoid()

    def forward_tensor(self, feats: Tuple[torch.Tensor, ...]) -> dict:
        """``cls_score`` ``(B, K)``, ``fg_map`` ``(B, K, h, w)`` (after the
        sigmoid) and the class activation maps ``cams`` ``(B, K, h', w')``.
        """
        tap, late = self.pre_logits(feats)
        cams = self.classifier(late)
        return dict(
            cls_score=cams.mean((2, 3)), fg_map=self.fg_maps(tap), cams=cams
        )

    def frozen_classifier(self, x: torch.Tensor) -> torch.Tensor:
        """h with its current weights detached: gradients reach ``x`` but
        not the weights."""
        params = {n: p.detach() for n, p in self.classifier.named_parameters()}
        return functional_call(self.classifier, params, (x,))

    def _labels(
        self, data_samples: List[DataSample], device: torch.device
    ) -> torch.Tensor:
        labels = []
        for i, sample in enumerate(data_samples):
            label = sample.get('gt_label')
            if label is None or label.numel() != 1:
                raise ValueError(
                    f'{type(self).__name__} trains with exactly '
                    f'one gt_label per sample; sample {i} has '
                    f'{label!r}.'
                )
            labels.append(label.reshape(1))
        labels = torch.cat(labels).to(device=device, dtype=torch.long)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(
                f'gt_label out of range [0, {self.num_classes}):'
                f' {labels.tolist()}'
            )
        return labels

    def loss(
        self,
        feats: Tuple[torch.Tensor, ...],
        data_samples: List[DataSample],
        late_stage: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Loss terms ``loss_cls``, ``loss_fg``, ``loss_bg``, ``loss_area``.

        Args:
            feats: ``(F_tap, late)`` feature maps.
            data_samples: Samples with one ``gt_label`` each.
            late_stage: The late stage f2 as a function of the tap
                features, with its weights detached (the background branch
                runs it on the erased features); :class:`mmwsl.BAS`
                passes it.
        """
        if late_stage is None:
            raise TypeError(
                f'{type(self).__name__}.loss needs the late '
                f'stage of the backbone for the background '
                f'branch; build the model with mmwsl.BAS.'
            )
        tap, late = self.pre_logits(feats)
        labels = self._labels(data_samples, tap.device)
        index = torch.arange(labels.numel(), device=tap.device)

        cams = self.classifier(late)
        cls_score = cams.mean((2, 3))
        fg_map = self.fg_maps(tap)[index, labels]  # (B, h, w)

        # Foreground-masked logits: A times the FPM pooled to A's size.
        pooled = F.adaptive_avg_pool2d(fg_map[:, None], cams.shape[-2:])
        fg_score = (cams * pooled).mean((2, 3))

        # Background branch on the erased, detached tap features.
        erased = tap.detach() * (1 - fg_map[:, None])
        bg_score = self.frozen_classifier(late_stage(erased)).mean((2, 3))

        num = cls_score.size(0)
        losses = dict(
            loss_cls=self.loss_module(cls_score, labels, avg_factor=num),
            loss_fg=self.loss_fg(fg_score, labels, avg_factor=num),
            loss_bg=self.loss_bg(
                cls_score[index, labels], bg_score[index, labels]
            ),
            loss_area=self.loss_area(fg_map),
        )
        if self.cal_acc:
            acc = Accuracy.calculate(
                cls_score.detach(), labels, topk=self.topk
            )
            losses.update(
                {f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)}
            )
        return losses

    def select_fg_map(
        self,
        fg_map: torch.Tensor,
        cls_score: torch.Tensor,
        samples: List[DataSample],
    ) -> torch.Tensor:
        """The inference map of each sample, ``(B, h, w)``.

        Args:
            fg_map: ``(B, K, h, w)`` foreground maps.
            cls_score: ``(B, K)`` class scores.
            samples: Samples with predictions (and possibly ``gt_label``).
        """
        k = min(self.cam_topk, fg_map.size(1))
        if k > 1:
            top = cls_score.topk(k, dim=1).indices  # (B, k)
            index = top[..., None, None].expand(-1, -1, *fg_map.shape[-2:])
            return fg_map.gather(1, index).mean(1)
        labels = select_cam_labels(samples, self.cam_class).to(fg_map.device)
        for sample, label in zip(samples, labels):
            sample.set_field(int(label), 'cam_label', field_type='metainfo')
        return fg_map[torch.arange(len(samples)), labels]

    def predict(
        self,
        feats: Tuple[torch.Tensor, ...],
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        """Scores, labels and the raw low-resolution ``cam`` ``(h, w)``.

        The classifier normalises and resizes ``cam`` afterwards.
        """
        out = self.forward_tensor(feats)
        samples = self._get_predictions(out['cls_score'], data_samples)
        cams = self.select_fg_map(out['fg_map'], out['cls_score'], samples)
        for sample, cam in zip(samples, cams):
            sample.set_field(cam, 'cam', field_type='data')
        return samples
