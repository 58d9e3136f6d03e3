# Copyright (c) mmwsl contributors. All rights reserved.
"""High-level inference: image -> class scores, CAM and boxes."""
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from mmwsl.registry import MODELS


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model from a config and load a checkpoint (strictly).

    Args:
        config: Config file path or :class:`Config`.
        checkpoint: Checkpoint path; ``None`` keeps the initial weights.
        device: Device to put the model on.
        cfg_options: Overrides merged into the config.

    Returns:
        The model in eval mode, with ``model.cfg`` set.
    """
    from mmwsl.utils.launch import load_config
    cfg = load_config(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.setdefault('data_preprocessor',
                         cfg.get('data_preprocessor', None))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmwsl')):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        try:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu',
                                   strict=True)
        except RuntimeError as e:
            raise RuntimeError(f'Checkpoint {checkpoint} does not match the '
                               f'model of the config:\n{e}') from None
        meta = ckpt.get('meta', {}).get('dataset_meta')
        if meta:
            model.dataset_meta = meta
    model.cfg = cfg
    return model.to(device).eval()


def _test_pipeline(cfg: Config) -> Compose:
    pipeline = cfg.test_dataloader.dataset.pipeline
    # Inference takes an image alone: drop annotation-only steps.
    steps = [
        dict(step) for step in pipeline
        if 'Mask' not in step['type'] and 'Annotation' not in step['type']
    ]
    return Compose(steps)


@torch.no_grad()
def inference_model(model: nn.Module,
                    image: Union[str, np.ndarray],
                    threshold: float = 0.2,
                    label: Optional[int] = None) -> dict:
    """Run a WSOL model on one image.

    Args:
        model: Model from :func:`init_model`.
        image: Image path or H×W×3 BGR uint8 array.
        threshold: CAM threshold of the returned box.
        label: Class whose map to use (default: the top-1 prediction).

    Returns:
        dict with ``pred_score`` (K,), ``pred_label``, ``pred_class``
        (name when the checkpoint stores class names; all three ``None``
        for class-agnostic models), ``cam`` (H×W float
        array in [0, 1] at the network-input size), ``bboxes`` (K×4 int64
        xyxy, network-input pixels), ``image`` (the network input, RGB
        uint8) and ``data_sample``.
    """
    from mmpretrain.structures import DataSample

    from mmwsl.evaluation.functional import cam_to_boxes
    cfg = model.cfg
    data = dict(img_path=image) if isinstance(image, str) else dict(
        img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])
    pipeline = _test_pipeline(cfg)
    if not isinstance(image, str):
        pipeline = Compose([t for t in pipeline.transforms
                            if 'Load' not in type(t).__name__])
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmwsl')):
        data = pipeline(data)
    sample = data['data_samples']
    if label is not None:
        sample.set_gt_label(label)
    head = getattr(model, 'head', None)
    old = getattr(head, 'cam_class', None)
    if label is None and old is not None:
        head.cam_class = 'pred'
    try:
        batch = model.data_preprocessor(pseudo_collate([data]), False)
        result: DataSample = model(**batch, mode='predict')[0]
    finally:
        if old is not None:
            head.cam_class = old
    cam = result.cam.cpu().numpy().astype(np.float64)
    # Class-agnostic models (C2AM) predict no class.
    pred_label = int(result.pred_label[0]) if 'pred_label' in result \
        else None
    pred_score = result.pred_score.cpu().numpy() if 'pred_score' in result \
        else None
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    img = data['inputs'].permute(1, 2, 0).numpy()[..., ::-1]
    return dict(
        pred_score=pred_score,
        pred_label=pred_label,
        pred_class=classes[pred_label]
        if classes and pred_label is not None else None,
        cam=cam,
        bboxes=cam_to_boxes(cam, [threshold])[0],
        image=np.ascontiguousarray(img),
        data_sample=result)
