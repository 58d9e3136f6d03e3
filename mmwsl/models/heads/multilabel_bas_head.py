# Copyright (c) mmwsl contributors. All rights reserved.
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample, label_to_onehot

from mmwsl.registry import MODELS

from .bas_head import BASHead


def choose_positive_classes(
    targets: torch.Tensor, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """One positive class per image, drawn uniformly at random.

    Args:
        targets: ``(B, K)`` multi-hot targets (> 0 = positive).
        generator: CPU random generator; None uses torch's global one.

    Returns:
        torch.Tensor: ``(B, )`` long class indices on ``targets``' device.

    Raises:
        ValueError: when an image has no positive class.
    """
    positive = (targets > 0).float().cpu()
    empty = (positive.sum(1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f'Images {empty} of the batch have no positive class; BAS for '
            f'WSSS trains on images with at least one image-level label.'
        )
    chosen = torch.multinomial(positive, 1, generator=generator)
    return chosen.flatten().to(targets.device)


@MODELS.register_module()
class MultiLabelBASHead(BASHead):
    """Head of BAS for WSSS (the model of the BAS-Extension WSSS code).

    Same parts as :class:`BASHead`: the classification head h
    (``classifier``, a bias-free 1x1 conv to the ``K`` class maps ``A`` in
    the reference model, ``mid_channels=()``) on the late features and the
    generator g (``generator``, a bias-free 3x3 conv + sigmoid) on the tap
    features ``F_tap``. In the reference model both are at 1/16 of the
    input, so ``A`` and the foreground maps ``M`` have the same size.

    Training (:meth:`loss`) with multi-hot targets ``Y`` ``(B, K)``:

    - one positive class ``p_i`` per image is drawn uniformly at random
      (:func:`choose_positive_classes`, seeded by ``choice_seed`` or from
      torch's global generator); ``M_fg = M[p]``, ``(B, h, w)``;
    - ``loss_cls``: the multi-label loss on ``S = GAP(A)`` and ``Y``
      (default :class:`~mmwsl.models.losses.PositiveNegativeSoftmaxLoss`:
      every positive against the image's negatives);
    - ``loss_fg = alpha * CE(GAP(sg(A) * M_fg), p)``: the class maps are
      **detached** (unlike WSOL BAS), so the term trains only g and f1;
      the softmax runs over all K classes, so the image's other positives
      count as negatives;
    - ``loss_bg``: the background activation ratio of class ``p`` between
      the erased features ``sg(F_tap) * (1 - M_fg)`` (late stage and h with
      detached weights) and the detached full-image logit;
    - ``loss_area = beta * mean(M_fg)``.

    The reference weights are alpha = 0.2 and beta = 1.2.

    Inference: :meth:`forward_tensor` gives ``cls_score`` ``(B, K)``,
    ``fg_map`` ``(B, K, h, w)`` (the sigmoid maps of every class, what the
    reference model returns for seeds) and ``cams`` (``A``); :meth:`predict`
    sets ``pred_score`` (sigmoid of the logits), ``pred_label`` (scores
    ``>= thr``) and ``fg_map`` ``(K, h, w)`` per sample.

    Args:
        num_classes: Number of foreground classes ``K``.
        in_channels: Channels of the late feature map (input of h).
        tap_channels: Channels of ``F_tap`` (input of g).
        mid_channels: Widths of 3x3 convs before h's 1x1 conv; ``()`` in
            the reference model.
        bias: Convs with bias; False in the reference model.
        loss: Multi-label classification loss on ``(B, K)`` logits and
            ``(B, K)`` multi-hot targets (``loss_cls``).
        loss_fg: Loss on the foreground-masked logits; weight alpha.
        loss_bg: Background activation loss (masked value 1).
        loss_area: Area loss; weight beta.
        choice_seed: Seed of the head's own generator for the random class
            choice (reproducible, independent of other random draws); None
            draws from torch's global generator (seeded by the runner's
            ``randomness`` setting).
        thr: Score threshold of ``pred_label``.
        init_cfg: Initialisation config (xavier-uniform convs).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        tap_channels: int,
        mid_channels: Tuple[int, ...] = (),
        bias: bool = False,
        loss: dict = dict(  # noqa: B006
            type='mmwsl.PositiveNegativeSoftmaxLoss', loss_weight=1.0
        ),
        loss_fg: dict = dict(  # noqa: B006
            type='mmpretrain.CrossEntropyLoss', loss_weight=0.2
        ),
        loss_bg: dict = dict(  # noqa: B006
            type='mmwsl.BackgroundActivationLoss', masked_value=1.0
        ),
        loss_area: dict = dict(  # noqa: B006
            type='mmwsl.AreaLoss', loss_weight=1.2
        ),
        choice_seed: Optional[int] = None,
        thr: float = 0.5,
        init_cfg: Optional[dict] = dict(  # noqa: B006
            type='Xavier', layer='Conv2d', distribution='uniform'
        ),
    ):
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            tap_channels=tap_channels,
            mid_channels=mid_channels,
            final_relu=False,
            bias=bias,
            loss=loss,
            loss_fg=loss_fg,
            loss_bg=loss_bg,
            loss_area=loss_area,
            cam_topk=1,
            cam_class='pred',
            cal_acc=False,
            init_cfg=init_cfg,
        )
        self.thr = thr
        self.choice_seed = choice_seed
        self.choice_generator = None
        if choice_seed is not None:
            self.choice_generator = torch.Generator().manual_seed(choice_seed)

    def multi_hot_targets(
        self, data_samples: List[DataSample], device: torch.device
    ) -> torch.Tensor:
        """``(B, K)`` float multi-hot targets from each sample's
        ``gt_score`` (set by ``to_onehot``) or ``gt_label`` indices."""
        targets = []
        for i, sample in enumerate(data_samples):
            if 'gt_score' in sample:
                target = sample.gt_score.float()
            elif 'gt_label' in sample:
                label = sample.gt_label
                if label.numel() and (
                    label.min() < 0 or label.max() >= self.num_classes
                ):
                    raise ValueError(
                        f'Sample {i}: gt_label {label.tolist()} out of '
                        f'range [0, {self.num_classes}).'
                    )
                target = label_to_onehot(label, self.num_classes).float()
            else:
                raise ValueError(
                    f'Training sample {i} has no image-level labels '
                    f'(gt_label or gt_score).'
                )
            if target.shape != (self.num_classes,):
                raise ValueError(
                    f'Sample {i}: targets of shape {tuple(target.shape)} '
                    f'do not match num_classes={self.num_classes}.'
                )
            targets.append(target)
        return torch.stack(targets).to(device)

    def loss(
        self,
        feats: Tuple[torch.Tensor, ...],
        data_samples: List[DataSample],
        late_stage: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        classes: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Loss terms ``loss_cls``, ``loss_fg``, ``loss_bg``, ``loss_area``.

        Args:
            feats: ``(F_tap, late)`` feature maps.
            data_samples: Samples with multi-hot ``gt_score`` or
                ``gt_label`` class lists.
            late_stage: The late stage f2 with detached weights (see
                :meth:`BASHead.loss`); :class:`mmwsl.MultiLabelBAS`
                passes it.
            classes: ``(B, )`` the chosen positive class per image; None
                draws them (:func:`choose_positive_classes`).
        """
        if late_stage is None:
            raise TypeError(
                f'{type(self).__name__}.loss needs the late stage of the '
                f'backbone for the background branch; build the model '
                f'with mmwsl.MultiLabelBAS.'
            )
        tap, late = self.pre_logits(feats)
        targets = self.multi_hot_targets(data_samples, tap.device)
        if classes is None:
            classes = choose_positive_classes(targets, self.choice_generator)
        classes = torch.as_tensor(classes, device=tap.device).long()
        if classes.shape != (len(targets),) or not bool(
            (targets.gather(1, classes[:, None]) > 0).all()
        ):
            raise ValueError(
                f'classes must hold one positive class per image, got '
                f'{classes.tolist()}.'
            )
        index = torch.arange(len(classes), device=tap.device)

        cams = self.classifier(late)  # (B, K, h', w')
        cls_score = cams.mean((2, 3))
        fg_map = self.fg_maps(tap)[index, classes]  # (B, h, w)

        # Foreground-masked logits with the class maps detached.
        pooled = F.adaptive_avg_pool2d(fg_map[:, None], cams.shape[-2:])
        fg_score = (cams.detach() * pooled).mean((2, 3))

        # Background branch on the erased, detached tap features.
        erased = tap.detach() * (1 - fg_map[:, None])
        bg_score = self.frozen_classifier(late_stage(erased)).mean((2, 3))

        num = len(classes)
        return dict(
            loss_cls=self.loss_module(cls_score, targets),
            loss_fg=self.loss_fg(fg_score, classes, avg_factor=num),
            loss_bg=self.loss_bg(
                cls_score[index, classes], bg_score[index, classes]
            ),
            loss_area=self.loss_area(fg_map),
        )

    def predict(
        self,
        feats: Tuple[torch.Tensor, ...],
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        """Samples with ``pred_score`` ``(K, )`` (sigmoid), ``pred_label``
        (classes with score ``>= thr``) and ``fg_map`` ``(K, h, w)``."""
        out = self.forward_tensor(feats)
        scores = out['cls_score'].sigmoid()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for sample, score, fg_map in zip(data_samples, scores, out['fg_map']):
            sample.set_pred_score(score)
            sample.set_pred_label(torch.where(score >= self.thr)[0])
            sample.set_field(fg_map, 'fg_map', field_type='data')
        return data_samples
