# Copyright (c) mmwsl contributors. All rights reserved.
"""C²AM for WSSS: background cues and CAM refinement (spec section 5).

1. :func:`c2am_multiscale_map`: the class-agnostic map of an image from
   its logits at several scales and flips (``hr_cam`` in [0, 1]).
2. :func:`background_cues`: threshold the map and optionally refine it
   with a dense CRF, giving a binary foreground PNG (255 = foreground).
3. :func:`refine_with_background_cues`: put ``1 - cue / 255`` into the
   background channel of the class CAMs of a separately trained classifier
   instead of a constant threshold, then take the argmax.
"""

import math
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

#: Multi-scale inference scales of the reference.
REFERENCE_SCALES = (0.5, 1.0, 1.5, 2.0)


def _resize_bicubic(image: np.ndarray, scale: float) -> np.ndarray:
    height, width = image.shape[:2]
    # Python's round(), as the reference computes the sizes.
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    if size == (width, height):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


@torch.no_grad()
def c2am_multiscale_map(
    model,
    image: np.ndarray,
    scales: Sequence[float] = REFERENCE_SCALES,
    flip: bool = True,
    flip_rule: str = 'reference',
    stride: int = 16,
) -> np.ndarray:
    """Multi-scale, flipped class-agnostic map of one image.

    For each scale the image (and its mirror image) is resized (bicubic),
    normalised by the model's data preprocessor and passed through the
    model in eval mode; the head's BN output ``z`` (before the sigmoid) is
    the map. If the model's polarity says "flip", the reference applies
    ``1 - z`` to the *logits* (``flip_rule='reference'``, spec quirk 5: it
    activates where ``sigmoid(z) < 0.731``); ``flip_rule='negate'`` uses
    ``-z`` instead, the logit of ``1 - P``. Then ``relu``, the flipped map
    is mirrored back and added, the sum is upsampled (bilinear) to the
    image size rounded up to a multiple of ``stride``, summed over scales,
    cropped to the image and divided by its ``max + 1e-5``.

    Args:
        model: A :class:`~mmwsl.models.C2AM` model.
        image: ``(H, W, 3)`` uint8 image in the channel order the model's
            data preprocessor expects (BGR for mmwsl configs).
        scales: Image scales.
        flip: Also run the mirror image.
        flip_rule: ``'reference'`` (``1 - z``) or ``'negate'`` (``-z``).
        stride: Output stride of the model.

    Returns:
        np.ndarray: ``(H, W)`` float32 map in ``[0, 1)``.
    """
    if flip_rule not in ('reference', 'negate'):
        raise ValueError(
            f"flip_rule must be 'reference' or 'negate', got {flip_rule!r}."
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f'Expected an (H, W, 3) image, got shape {image.shape}.'
        )
    model.eval()
    height, width = image.shape[:2]
    up_size = (
        math.ceil(height / stride) * stride,
        math.ceil(width / stride) * stride,
    )
    invert = bool(model.head.flip)
    total = None
    for scale in scales:
        scaled = np.ascontiguousarray(_resize_bicubic(image, scale))
        inputs = [torch.from_numpy(scaled).permute(2, 0, 1)]
        if flip:
            inputs.append(inputs[0].flip(-1))
        data = model.data_preprocessor(dict(inputs=inputs), False)
        z = model.foreground_logits(data['inputs'])[:, 0]
        if invert:
            z = 1 - z if flip_rule == 'reference' else -z
        m = z.relu()
        summed = m[0] + m[1].flip(-1) if flip else m[0]
        up = F.interpolate(
            summed[None, None].float(),
            size=up_size,
            mode='bilinear',
            align_corners=False,
        )[0, 0]
        total = up if total is None else total + up
    total = total[:height, :width]
    total = total / (total.max() + 1e-5)
    return total.cpu().numpy().astype(np.float32)


def crf_inference_label(
    image: np.ndarray,
    labels: np.ndarray,
    num_labels: int = 2,
    iterations: int = 10,
    gt_prob: float = 0.7,
) -> np.ndarray:
    """Dense CRF on a hard label map (the reference's
    ``crf_inference_label``).

    Unary from the labels with confidence ``gt_prob``; a Gaussian pairwise
    term (``sxy=3, compat=3``) and a bilateral one (``sxy=50, srgb=5,
    compat=10``); ``iterations`` mean-field steps, then the argmax.

    Needs ``pydensecrf`` (``pip install pydensecrf2`` provides it), imported
    only here.

    Args:
        image: ``(H, W, 3)`` uint8 image.
        labels: ``(H, W)`` integer labels in ``[0, num_labels)``.
        num_labels: Number of labels.
        iterations: Mean-field iterations.
        gt_prob: Confidence of the given labels.

    Returns:
        np.ndarray: ``(H, W)`` int64 refined labels.
    """
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_labels
    except ImportError as e:
        raise ImportError(
            'Dense CRF refinement of the C²AM background cues needs '
            'pydensecrf, which is not installed: pip install pydensecrf2 '
            '(it provides the pydensecrf module), or use crf_iterations=0 '
            'for the thresholded cues.'
        ) from e
    height, width = labels.shape
    if image.shape[:2] != (height, width):
        raise ValueError(
            f'The image {image.shape[:2]} and the labels '
            f'{labels.shape} differ in size.'
        )
    crf = dcrf.DenseCRF2D(width, height, num_labels)
    unary = unary_from_labels(
        labels.astype(np.int64), num_labels, gt_prob=gt_prob, zero_unsure=False
    )
    crf.setUnaryEnergy(np.ascontiguousarray(unary))
    crf.addPairwiseGaussian(sxy=3, compat=3)
    crf.addPairwiseBilateral(
        sxy=50, srgb=5, rgbim=np.ascontiguousarray(image, np.uint8), compat=10
    )
    q = crf.inference(iterations)
    return np.argmax(np.array(q).reshape(num_labels, height, width), axis=0)


def background_cues(
    hr_cam: np.ndarray,
    image: Optional[np.ndarray] = None,
    threshold: float = 0.3,
    crf_iterations: int = 10,
) -> np.ndarray:
    """Binary foreground mask from a C²AM map (the reference's
    ``inference_crf``).

    Foreground where ``hr_cam > threshold`` (ties are background); with
    ``crf_iterations > 0`` the mask is refined by
    :func:`crf_inference_label` on ``image``.

    Args:
        hr_cam: ``(H, W)`` map in ``[0, 1]``.
        image: ``(H, W, 3)`` uint8 image (needed for the CRF).
        threshold: Foreground threshold (reference README 0.3; its script
            default is 0.25).
        crf_iterations: CRF iterations (reference README 10; 0 = no CRF).

    Returns:
        np.ndarray: ``(H, W)`` uint8, 255 = foreground, 0 = background
        (the background cue is ``1 - cue / 255``).
    """
    hr_cam = np.asarray(hr_cam)
    if hr_cam.ndim != 2:
        raise ValueError(f'Expected an (H, W) map, got {hr_cam.shape}.')
    # argmax([t, map]) with ties to the background.
    fg = (hr_cam > threshold).astype(np.int64)
    if crf_iterations > 0:
        if image is None:
            raise ValueError('The CRF refinement needs the image.')
        fg = crf_inference_label(image, fg, 2, crf_iterations)
    return (fg > 0).astype(np.uint8) * 255


def refine_with_background_cues(
    cams: np.ndarray, keys: Sequence[int], background: Union[float, np.ndarray]
) -> np.ndarray:
    """Label map ``keys[argmax([bg, CAM_1, ..., CAM_K])]``.

    Args:
        cams: ``(K, H, W)`` normalised class maps of the image's classes.
        keys: ``K + 1`` label values, ``keys[0]`` the background label
            (PuzzleCAM format ``[0, c_1 + 1, ..., c_K + 1]``).
        background: The background score: a constant threshold, or a
            background-cue PNG ``(H, W)`` uint8 with 255 = foreground, whose
            score is ``1 - cue / 255`` (spec 5.4).

    Returns:
        np.ndarray: ``(H, W)`` int64 labels; the background wins ties.
    """
    cams = np.asarray(cams, np.float64)
    if cams.ndim == 2:
        cams = cams[None]
    keys = np.asarray(keys, np.int64)
    if len(keys) != len(cams) + 1:
        raise ValueError(
            f'Expected {len(cams) + 1} keys (background + '
            f'{len(cams)} classes), got {len(keys)}.'
        )
    if np.isscalar(background):
        bg = np.full(cams.shape[1:], float(background))
    else:
        cue = np.asarray(background)
        if cue.shape != cams.shape[1:]:
            raise ValueError(
                f'The background cue has shape {cue.shape} '
                f'but the CAMs {cams.shape[1:]}.'
            )
        if cue.dtype != np.uint8:
            raise TypeError(
                f'The background cue must be a uint8 PNG map '
                f'(255 = foreground), got {cue.dtype}.'
            )
        bg = 1 - cue.astype(np.float64) / 255
    scores = np.concatenate([bg[None], cams])
    return keys[np.argmax(scores, axis=0)]


def label_confusion(
    pred: np.ndarray,
    gt: np.ndarray,
    num_classes: int = 21,
    ignore_index: int = 255,
) -> np.ndarray:
    """``(C, C)`` confusion matrix (rows GT, columns prediction) over the
    pixels where ``gt != ignore_index``."""
    pred = np.asarray(pred, np.int64)
    gt = np.asarray(gt, np.int64)
    if pred.shape != gt.shape:
        raise ValueError(
            f'Prediction {pred.shape} and GT {gt.shape} differ in shape.'
        )
    valid = gt != ignore_index
    bad = valid & (
        (gt < 0) | (gt >= num_classes) | (pred < 0) | (pred >= num_classes)
    )
    if bad.any():
        raise ValueError(f'Labels outside [0, {num_classes}) found.')
    index = gt[valid] * num_classes + pred[valid]
    return np.bincount(index, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )
