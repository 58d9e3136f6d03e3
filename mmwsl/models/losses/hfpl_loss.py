# Copyright (c) mmwsl contributors. All rights reserved.
"""HFPL losses (Jonnarth et al., WACV 2024): importance-sampling loss and
feature-similarity loss.

* :func:`importance_sampling_loss` (binomial, HFPL): per foreground class,
  pixels of the logit map are drawn with probability proportional to
  ``sigmoid(z) + 1e-5``; the binary cross-entropy is taken on the raw
  logits gathered at the drawn pixels. No gradient flows through the draw.
* :func:`multinomial_importance_sampling_loss` (the earlier ICAM variant):
  softmax over the classes (background included) as the pixel posterior,
  the gathered probabilities are mapped back to clipped logits.
* :func:`feature_similarity_loss`: pairwise loss between the pixels of the
  CAM grid; a Gaussian spatial kernel times a smooth sign of the colour
  difference times half the squared distance between the CAM vectors.
  A dense version (all ``N²`` pairs at once, as the reference code) and an
  exact chunked version with a closed-form backward (memory linear in
  ``N`` per chunk) are provided; ``impl='auto'`` picks by size.
"""

import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsl.registry import MODELS

#: Floor added to the sigmoid to form the sampling weights (HFPL).
IS_EPS = 1e-5
#: Clipping epsilon of ICAM's ``probs_to_logits``.
ICAM_EPS = 1e-3
#: Epsilon of the colour-difference logit and of ``max_norm``.
FS_EPS = 1e-5
#: ``impl='auto'`` uses the dense feature-similarity loss while one
#: ``B x N x N`` float tensor stays below this many bytes.
DENSE_MAX_BYTES = 64 * 1024**2
#: Bytes of one ``B x rows x N`` block of the chunked version.
CHUNK_BYTES = 16 * 1024**2


# ---------------------------------------------------------------------------
# Importance sampling
# ---------------------------------------------------------------------------
def _check_indices(
    indices: torch.Tensor, rows: int, num_pixels: int
) -> torch.Tensor:
    if indices.dim() != 2 or indices.size(0) != rows:
        raise ValueError(
            f'indices must have shape (B*K, S) = ({rows}, S), got '
            f'{tuple(indices.shape)}.'
        )
    if indices.dtype not in (torch.int64, torch.int32, torch.int16):
        raise TypeError(f'indices must be integer, got {indices.dtype}.')
    if indices.numel() and (
        int(indices.min()) < 0 or int(indices.max()) >= num_pixels
    ):
        raise ValueError(
            f'indices must lie in [0, {num_pixels}) (h*w pixels).'
        )
    return indices.long()


def _check_logits_labels(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_channels: Optional[int] = None,
) -> None:
    if logits.dim() != 4:
        raise ValueError(
            f'logits must be (B, K, h, w), got {tuple(logits.shape)}.'
        )
    if num_channels is None:
        num_channels = logits.size(1)
    b = logits.size(0)
    if tuple(labels.shape) != (b, num_channels):
        raise ValueError(
            f'labels must be (B, K) = ({b}, {num_channels}) multi-hot, '
            f'got {tuple(labels.shape)}.'
        )


def sample_pixels(weights: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Draw pixel indices i.i.d. with replacement.

    Args:
        weights: ``(R, N)`` non-negative weights; each row is normalised by
            :func:`torch.multinomial`.
        num_samples: Samples ``S`` per row.

    Returns:
        ``(R, S)`` int64 indices.
    """
    if num_samples <= 0:
        raise ValueError(f'num_samples must be positive, got {num_samples}.')
    with torch.no_grad():
        return torch.multinomial(weights.detach(), num_samples, True)


def importance_sampling_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_samples: int = 10,
    indices: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Binomial importance-sampling loss of HFPL (spec section 2.3).

    ``q_{b,c}(i) ∝ sigmoid(z_{b,c,i}) + 1e-5``; ``S`` pixels are drawn per
    image and class with replacement, and the loss is the mean binary
    cross-entropy with logits over the ``B·K·S`` gathered raw logits
    (absent classes included). Only the gathered logits carry gradient.

    Args:
        logits: ``(B, K, h, w)`` raw foreground logits (no background).
        labels: ``(B, K)`` multi-hot image labels.
        num_samples: Samples ``S`` per image and class.
        indices: Optional ``(B·K, S)`` pixel indices into the flattened
            ``h·w`` grid (row ``b·K + c``); when given they replace the
            random draw and the loss is deterministic.

    Returns:
        Scalar loss.
    """
    _check_logits_labels(logits, labels)
    b, k, h, w = logits.shape
    z = logits.reshape(b * k, h * w)
    if indices is None:
        indices = sample_pixels(
            torch.sigmoid(z.detach()) + IS_EPS, num_samples
        )
    else:
        indices = _check_indices(indices, b * k, h * w)
    zs = z.gather(1, indices.to(z.device)).reshape(b, k, -1)
    target = labels.to(zs).unsqueeze(-1).expand_as(zs)
    return F.binary_cross_entropy_with_logits(zs, target)


def probs_to_logits(
    probs: torch.Tensor, eps: float = ICAM_EPS
) -> torch.Tensor:
    """ICAM's clipped inverse sigmoid:
    ``log(p(1-eps)+eps) - log(1 - p(1-eps))`` (range ``±log(1/eps)``)."""
    p = probs * (1 - eps)
    return torch.log(p + eps) - torch.log(1 - p)


def multinomial_importance_sampling_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_samples: int = 100,
    indices: Optional[torch.Tensor] = None,
    eps: float = ICAM_EPS,
) -> torch.Tensor:
    """Multinomial importance-sampling loss of ICAM (spec section 5.2).

    ``p = softmax`` over the ``K+1`` channels (channel 0 = background); for
    each foreground class the pixels are drawn with probability ``∝ p``,
    the gathered probabilities are mapped to clipped logits
    (:func:`probs_to_logits`) and scored with the binary cross-entropy.
    ICAM also draws for the background row but drops its loss term; rows
    are independent, so drawing only the foreground rows gives the same
    distribution.

    Args:
        logits: ``(B, K+1, h, w)`` logits, background first.
        labels: ``(B, K)`` multi-hot foreground labels.
        num_samples: Samples per image and class (ICAM: 100).
        indices: Optional ``(B·K, S)`` fixed foreground pixel indices.
        eps: Clipping epsilon of :func:`probs_to_logits`.

    Returns:
        Scalar loss.
    """
    if logits.dim() != 4 or logits.size(1) < 2:
        raise ValueError(
            'logits must be (B, K+1, h, w) with a background channel, got '
            f'{tuple(logits.shape)}.'
        )
    _check_logits_labels(logits, labels, logits.size(1) - 1)
    b, k1, h, w = logits.shape
    k = k1 - 1
    p = logits.softmax(dim=1)[:, 1:].reshape(b * k, h * w)
    if indices is None:
        indices = sample_pixels(p, num_samples)
    else:
        indices = _check_indices(indices, b * k, h * w)
    ps = p.gather(1, indices.to(p.device)).reshape(b, k, -1)
    target = labels.to(ps).unsqueeze(-1).expand_as(ps)
    return F.binary_cross_entropy_with_logits(probs_to_logits(ps, eps), target)


@MODELS.register_module()
class ImportanceSamplingLoss(nn.Module):
    """Module form of the importance-sampling losses.

    Args:
        num_samples: Samples per image and class (HFPL 10, ICAM 100).
        posterior: ``'binomial'`` (HFPL, per-class sigmoid on foreground
            logits ``(B, K, h, w)``) or ``'multinomial'`` (ICAM, softmax
            over ``(B, K+1, h, w)`` logits with background first).
        loss_weight: Multiplier of the loss.
    """

    def __init__(
        self,
        num_samples: int = 10,
        posterior: str = 'binomial',
        loss_weight: float = 1.0,
    ):
        super().__init__()
        if posterior not in ('binomial', 'multinomial'):
            raise ValueError(
                "posterior must be 'binomial' or 'multinomial', got "
                f'{posterior!r}.'
            )
        if num_samples <= 0:
            raise ValueError(
                f'num_samples must be positive, got {num_samples}.'
            )
        self.num_samples = num_samples
        self.posterior = posterior
        self.loss_weight = loss_weight

    def forward(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        indices: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        fn = (
            importance_sampling_loss
            if self.posterior == 'binomial'
            else multinomial_importance_sampling_loss
        )
        return self.loss_weight * fn(logits, labels, self.num_samples, indices)


# ---------------------------------------------------------------------------
# Feature similarity
# ---------------------------------------------------------------------------
def max_norm(cams: torch.Tensor, eps: float = FS_EPS) -> torch.Tensor:
    """SEAM's per-channel min-max normalisation (spec section 3.2).

    ``p = relu(z); relu(p - min p - eps) / (max p - min p + eps)`` over the
    spatial positions of each image and channel; gradients flow through
    the max and min as well.

    Args:
        cams: ``(B, C, h, w)`` logits.

    Returns:
        ``(B, C, h, w)`` maps in ``[0, 1)``.
    """
    p = F.relu(cams)
    flat = p.flatten(2)
    pmin = flat.min(dim=2)[0][..., None, None]
    pmax = flat.max(dim=2)[0][..., None, None]
    return F.relu(p - pmin - eps) / (pmax - pmin + eps)


def hfpl_probs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Normalised CAMs with background for the feature-similarity loss
    (spec section 3.2): ``max_norm`` of the foreground logits, masked by
    the labels, with background ``1 - max_c`` prepended as channel 0.

    Args:
        logits: ``(B, K, h, w)`` foreground logits.
        labels: ``(B, K)`` multi-hot labels.

    Returns:
        ``(B, K+1, h, w)`` maps, background first.
    """
    _check_logits_labels(logits, labels)
    fg = max_norm(logits) * labels.to(logits)[..., None, None]
    bg = 1 - fg.max(dim=1, keepdim=True)[0]
    return torch.cat([bg, fg], dim=1)


def image_to_grid(
    inputs: torch.Tensor,
    size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Network input -> RGB in ``[0, 1]`` at the CAM grid (spec 3.2, quirk 6).

    The normalised input is resized with bilinear interpolation
    (``align_corners=True``), de-normalised and clamped to ``[0, 1]``.

    Args:
        inputs: ``(B, 3, H, W)`` normalised RGB input.
        size: ``(h, w)`` of the CAM grid.
        mean: Per-channel mean of the normalisation, in the input scale
            of ``std`` (e.g. 0-255 for mmpretrain data preprocessors).
        std: Per-channel std; ``mean`` and ``std`` are divided by 255 when
            ``max(mean) > 1``.

    Returns:
        ``(B, 3, h, w)`` colours in ``[0, 1]``.
    """
    mean_t = torch.as_tensor(mean, dtype=inputs.dtype, device=inputs.device)
    std_t = torch.as_tensor(std, dtype=inputs.dtype, device=inputs.device)
    mean_t, std_t = mean_t.flatten(), std_t.flatten()
    if float(mean_t.max()) > 1:
        mean_t, std_t = mean_t / 255, std_t / 255
    x = F.interpolate(
        inputs.detach(), size=tuple(size), mode='bilinear', align_corners=True
    )
    x = x * std_t[None, :, None, None] + mean_t[None, :, None, None]
    return x.clamp(0, 1)


def _grid_coords(h: int, w: int, device, dtype) -> torch.Tensor:
    r = torch.arange(h, device=device, dtype=dtype)
    c = torch.arange(w, device=device, dtype=dtype)
    return torch.stack(torch.meshgrid(r, c, indexing='ij'), -1).reshape(-1, 2)


def _pair_weights(
    xr: torch.Tensor,
    x: torch.Tensor,
    pr: torch.Tensor,
    p: torch.Tensor,
    mu: float,
    sigma: Optional[float],
    num_pixels: int,
) -> torch.Tensor:
    """``k(i, j) · w(i, j)`` for rows ``xr (B, r, 3)`` against ``x (B, N,
    3)``; ``pr (r, 2)`` and ``p (N, 2)`` grid coordinates. ``(B, r, N)``."""
    dx = (torch.cdist(xr, x, p=1) / x.size(-1)).clamp(0, 1)
    wgt = torch.tanh(mu + torch.log((dx + FS_EPS) / (1 - dx + FS_EPS)))
    if sigma is None:
        return wgt / num_pixels
    d2 = (pr[:, None, :] - p[None, :, :]).pow(2).sum(-1)
    k = torch.exp(-0.5 * d2 / sigma**2) / (2 * math.pi * sigma**2)
    return wgt * k


def _half_sqdist(yr: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``0.5 ||yr_i - y_j||²``, ``(B, r, N)``."""
    sq = (
        yr.pow(2).sum(-1)[..., :, None]
        + y.pow(2).sum(-1)[..., None, :]
        - 2 * yr @ y.transpose(1, 2)
    )
    return 0.5 * sq.clamp_min(0)


def _dense_fsl(x, y, mu, sigma, h, w, dy_scale):
    b, n, _ = x.shape
    p = _grid_coords(h, w, x.device, x.dtype)
    with torch.no_grad():
        kw = _pair_weights(x, x, p, p, mu, sigma, n)
    dy = _half_sqdist(y, y) * (2 * dy_scale)
    return -(kw * dy).sum() / (b * h * w)


class _ChunkedFSL(torch.autograd.Function):
    """Exact feature-similarity loss over blocks of rows; the backward
    recomputes each block and uses the closed form
    ``dL/dy_i = -(4 s / (B h w)) Σ_j k w (y_i - y_j)``, ``s = dy_scale``."""

    @staticmethod
    def forward(ctx, x, y, mu, sigma, h, w, dy_scale, rows):
        b, n, _ = x.shape
        p = _grid_coords(h, w, x.device, x.dtype)
        total = y.new_zeros(())
        for s in range(0, n, rows):
            e = min(s + rows, n)
            kw = _pair_weights(x[:, s:e], x, p[s:e], p, mu, sigma, n)
            dy = _half_sqdist(y[:, s:e], y) * (2 * dy_scale)
            total = total + (kw * dy).sum()
        ctx.save_for_backward(x, y)
        ctx.params = (mu, sigma, h, w, dy_scale, rows)
        return -total / (b * h * w)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        mu, sigma, h, w, dy_scale, rows = ctx.params
        b, n, _ = x.shape
        p = _grid_coords(h, w, x.device, x.dtype)
        grad = torch.empty_like(y)
        scale = -4 * dy_scale / (b * h * w)
        for s in range(0, n, rows):
            e = min(s + rows, n)
            kw = _pair_weights(x[:, s:e], x, p[s:e], p, mu, sigma, n)
            grad[:, s:e] = kw.sum(-1, keepdim=True) * y[:, s:e] - kw @ y
        return (
            None,
            grad * (scale * grad_out),
            None,
            None,
            None,
            None,
            None,
            None,
        )


def feature_similarity_loss(
    image: torch.Tensor,
    probs: torch.Tensor,
    mu: float = 2.5,
    sigma: Optional[float] = 5.0,
    impl: str = 'auto',
    chunk_rows: Optional[int] = None,
    dy_scale: float = 0.5,
) -> torch.Tensor:
    """Feature-similarity loss of HFPL (spec section 3.3).

    ``L = -(1/(B h w)) Σ_b Σ_{i,j} k(i,j) · d_y(i,j) · w(i,j)`` over all
    ordered pairs of grid cells, with ``d_x`` the mean absolute RGB
    difference clamped to ``[0, 1]``, ``w = tanh(mu + log((d_x + 1e-5) /
    (1 - d_x + 1e-5)))``, ``d_y = dy_scale · ||probs_i - probs_j||²`` and
    ``k`` the Gaussian ``exp(-d²/(2σ²)) / (2πσ²)`` of the grid distance in
    cells. The image carries no gradient.

    Implementations (equal within float rounding):

    * ``'dense'``: all pairs at once, like the reference; memory about a
      handful of ``B x N x N`` tensors kept for the backward
      (``N = h·w``; B = 8 at 56 x 56 gives 315 MB per tensor).
    * ``'chunked'``: blocks of rows with a closed-form backward that
      recomputes the pair weights; memory ``O(B · rows · N)`` (a few
      ``16 MB`` blocks by default), time about 2x the dense forward +
      backward arithmetic.
    * ``'auto'``: dense while one ``B x N x N`` tensor is below 64 MB.

    Args:
        image: ``(B, 3, h, w)`` RGB in ``[0, 1]`` at the CAM grid (clamped
            to ``[0, 1]`` here).
        probs: ``(B, C, h, w)`` normalised CAMs, background included.
        mu: Offset of the colour-difference logit (2.5).
        sigma: Gaussian std in grid cells (5.0); None uses the global
            kernel ``k = 1/(h w)`` of the reference's unused path.
        impl: ``'auto'``, ``'dense'`` or ``'chunked'``.
        chunk_rows: Rows per block of the chunked version (default: as
            many as fit in 16 MB per ``B x rows x N`` block).
        dy_scale: ``0.5`` for HFPL; ``1.0`` gives ICAM's ``d_y = ||Δ||²``
            (spec section 3.6, doubles the loss).

    Returns:
        Scalar loss.
    """
    if image.dim() != 4 or probs.dim() != 4:
        raise ValueError(
            'image and probs must be 4-D (B, 3, h, w) / (B, C, h, w), got '
            f'{tuple(image.shape)} and {tuple(probs.shape)}.'
        )
    if image.shape[0] != probs.shape[0] or image.shape[2:] != probs.shape[2:]:
        raise ValueError(
            f'image {tuple(image.shape)} and probs {tuple(probs.shape)} '
            'must share the batch size and the (h, w) grid; resize the '
            'image to the CAM grid first (see image_to_grid).'
        )
    if impl not in ('auto', 'dense', 'chunked'):
        raise ValueError(
            f"impl must be 'auto', 'dense' or 'chunked', got {impl!r}."
        )
    b, _, h, w = probs.shape
    n = h * w
    x = image.detach().to(probs.dtype).flatten(2).transpose(1, 2).clamp(0, 1)
    y = probs.flatten(2).transpose(1, 2)
    elem = probs.element_size()
    if impl == 'auto':
        impl = 'dense' if b * n * n * elem <= DENSE_MAX_BYTES else 'chunked'
    if impl == 'dense':
        return _dense_fsl(x, y, mu, sigma, h, w, dy_scale)
    if chunk_rows is None:
        chunk_rows = max(1, CHUNK_BYTES // (b * n * elem))
    if chunk_rows <= 0:
        raise ValueError(f'chunk_rows must be positive, got {chunk_rows}.')
    return _ChunkedFSL.apply(
        x, y.contiguous(), mu, sigma, h, w, dy_scale, int(chunk_rows)
    )


@MODELS.register_module()
class FeatureSimilarityLoss(nn.Module):
    """Module form of :func:`feature_similarity_loss`.

    Args:
        mu: Colour-difference offset (2.5).
        sigma: Gaussian std in grid cells (5.0).
        impl: ``'auto'``, ``'dense'`` or ``'chunked'``.
        chunk_rows: Rows per block of the chunked version.
        dy_scale: 0.5 (HFPL) or 1.0 (ICAM).
        loss_weight: 1.0 (HFPL VOC) or 0.2 (HFPL COCO).
    """

    def __init__(
        self,
        mu: float = 2.5,
        sigma: Optional[float] = 5.0,
        impl: str = 'auto',
        chunk_rows: Optional[int] = None,
        dy_scale: float = 0.5,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        if impl not in ('auto', 'dense', 'chunked'):
            raise ValueError(
                f"impl must be 'auto', 'dense' or 'chunked', got {impl!r}."
            )
        self.mu = mu
        self.sigma = sigma
        self.impl = impl
        self.chunk_rows = chunk_rows
        self.dy_scale = dy_scale
        self.loss_weight = loss_weight

    def forward(
        self, image: torch.Tensor, probs: torch.Tensor
    ) -> torch.Tensor:
        return self.loss_weight * feature_similarity_loss(
            image,
            probs,
            self.mu,
            self.sigma,
            self.impl,
            self.chunk_rows,
            self.dy_scale,
        )
