# Copyright (c) mmwsl contributors. All rights reserved.
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from mmwsl.registry import MODELS


@MODELS.register_module()
class C2AMWithClassifier(BaseModel):
    """A class-agnostic localizer paired with a separately trained
    classifier, for Top-1/Top-5 Loc.

    The localizer (a :class:`C2AM` model, or any model whose ``predict``
    sets ``cam``) gives the map and thus the box; the classifier gives
    ``pred_score`` and ``pred_label``. This is how C²AM reports Top-k Loc:
    the box is class-agnostic and the class comes from another network.
    Both models see the same preprocessed input, optionally resized for the
    classifier. The pair is evaluation-only.

    A checkpoint of the pair holds ``localizer.*`` and ``classifier.*``;
    ``tools/c2am_pair_checkpoint.py`` merges two separately trained
    checkpoints into one. Alternatively give the two checkpoints here; they
    are loaded (strictly) by ``init_weights``.

    Args:
        localizer: Localizer model config.
        classifier: Classifier model config (e.g. ``mmpretrain.
            ImageClassifier`` or ``mmwsl.WSOLClassifier``); an
            ``mmpretrain.*`` model is built in the mmpretrain scope, so its
            unqualified defaults resolve.
        localizer_checkpoint: Optional checkpoint of the localizer.
        classifier_checkpoint: Optional checkpoint of the classifier.
        classifier_input_size: ``(H, W)`` the input is resized to
            (bilinear) for the classifier; None keeps it.
        data_preprocessor: Normalisation shared by both models; defaults to
            ``mmpretrain.ClsDataPreprocessor``.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        localizer: dict,
        classifier: dict,
        localizer_checkpoint: Optional[str] = None,
        classifier_checkpoint: Optional[str] = None,
        classifier_input_size: Optional[Sequence[int]] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmpretrain.ClsDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg
        )
        self.localizer = MODELS.build(localizer)
        classifier = dict(classifier)
        if str(classifier.get('type', '')).startswith('mmpretrain.'):
            # Its unqualified defaults (data preprocessor, loss) are
            # mmpretrain types.
            classifier.setdefault('_scope_', 'mmpretrain')
        self.classifier = MODELS.build(classifier)
        self.localizer_checkpoint = localizer_checkpoint
        self.classifier_checkpoint = classifier_checkpoint
        self.classifier_input_size = (
            None
            if classifier_input_size is None
            else tuple(classifier_input_size)
        )

    def init_weights(self) -> None:
        super().init_weights()
        from mmengine.runner import load_checkpoint

        for module, path in (
            (self.localizer, self.localizer_checkpoint),
            (self.classifier, self.classifier_checkpoint),
        ):
            if path is not None:
                load_checkpoint(module, path, map_location='cpu', strict=True)

    def class_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        """Classifier logits ``(B, K)``."""
        if (
            self.classifier_input_size is not None
            and tuple(inputs.shape[-2:]) != self.classifier_input_size
        ):
            inputs = F.interpolate(
                inputs,
                size=self.classifier_input_size,
                mode='bilinear',
                align_corners=False,
            )
        out = self.classifier(inputs, mode='tensor')
        if isinstance(out, dict):
            out = out['cls_score']
        if isinstance(out, (tuple, list)):
            out = out[-1]
        return out

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        mode: str = 'predict',
    ):
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            out = dict(self.localizer(inputs, mode='tensor'))
            out['cls_score'] = self.class_scores(inputs)
            return out
        raise RuntimeError(
            f'{type(self).__name__} is evaluation-only; '
            f'mode must be "predict" or "tensor", got '
            f'"{mode}". Train the localizer and the '
            f'classifier separately.'
        )

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
    ) -> List[DataSample]:
        """Data samples with the localizer's ``cam`` and the classifier's
        ``pred_score`` (softmax) and ``pred_label``."""
        samples = self.localizer.predict(inputs, data_samples)
        scores = F.softmax(self.class_scores(inputs).float(), dim=1)
        for sample, score in zip(samples, scores):
            sample.set_pred_score(score)
            sample.set_pred_label(score.argmax(keepdim=True))
        return samples
