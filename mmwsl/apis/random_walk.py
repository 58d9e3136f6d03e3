# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN random walk: seeds + a class-boundary map -> pseudo-masks.

``specs/bas.md`` 5.3 (IRN ``propagate_to_edge`` and
``make_sem_seg_labels``):

1. seeds on the stride-4 grid (``(H - 1) // 4 + 1`` cells per side), raised
   to ``power`` (1.5 in BAS);
2. affinities of all pairs within ``radius`` (5) cells: ``a = 1 - max``
   of the boundary map on the path between them (:class:`PathIndex`),
   symmetric, with 1 on the diagonal and 0 elsewhere;
3. transition matrix ``T = A^beta`` (elementwise, beta = 10), every column
   divided by its sum, then squared ``exp_times`` (8) times, i.e.
   ``T^(2^8)``;
4. the seeds are multiplied by ``1 - boundary`` and propagated: ``x' = x
   T``;
5. bilinear x4 upsampling, crop to the image, division by the global
   maximum;
6. the label is the argmax with a constant background score
   (``sem_seg_bg_thres`` 0.22), applied by :class:`PseudoLabelWriter`.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from mmwsl.models.layers.path_index import PathIndex, edge_to_affinity


def strided_seeds(cams: torch.Tensor, stride: int = 4) -> torch.Tensor:
    """Full-resolution seeds -> the stride grid by averaging each
    ``stride x stride`` cell (edges replicated to complete the last cell).

    Args:
        cams: ``(K, H, W)`` maps.

    Returns:
        torch.Tensor: ``(K, (H - 1) // stride + 1, (W - 1) // stride + 1)``.
    """
    k, height, width = cams.shape
    h = (height - 1) // stride + 1
    w = (width - 1) // stride + 1
    if k == 0:
        return cams.new_zeros(0, h, w)
    x = cams[None].float()
    pad = (0, w * stride - width, 0, h * stride - height)
    if any(pad):
        x = F.pad(x, pad, mode='replicate')
    return F.avg_pool2d(x, stride)[0]


def dense_affinity(edge: torch.Tensor, radius: float = 5) -> torch.Tensor:
    """Pairwise affinity matrix of a boundary map.

    Pairs with an end outside the map have affinity 0 (IRN pads the map
    with boundary value 1), so only pairs inside it are built.

    Args:
        edge: ``(h, w)`` boundary probabilities.
        radius: pair radius in cells.

    Returns:
        torch.Tensor: ``(h w, h w)`` symmetric affinities, 1 on the
        diagonal.
    """
    h, w = edge.shape
    rf = int(math.ceil(radius)) - 1
    ph, pw = h + rf, w + 2 * rf
    padded = F.pad(edge[None, None], (rf, rf, 0, rf), value=1.0)[0, 0]
    pi = PathIndex(radius, (ph, pw))
    aff = edge_to_affinity(padded[None], pi.path_indices)[0]  # (D, N)
    dev = edge.device
    src = torch.as_tensor(pi.src_indices, device=dev).expand_as(aff)
    dst = torch.as_tensor(pi.dst_indices, device=dev)
    sy, sx = src // pw, src % pw - rf
    dy, dx = dst // pw, dst % pw - rf
    inside = (
        (sy < h) & (sx >= 0) & (sx < w) & (dy < h) & (dx >= 0) & (dx < w)
    )
    i = (sy * w + sx)[inside]
    j = (dy * w + dx)[inside]
    vals = aff[inside]
    n = h * w
    dense = torch.zeros(n, n, dtype=edge.dtype, device=dev)
    dense.index_put_((i, j), vals, accumulate=True)
    dense.index_put_((j, i), vals, accumulate=True)
    dense.diagonal().add_(1.0)
    return dense


def transition_matrix(
    affinity: torch.Tensor, beta: float = 10, exp_times: int = 8
) -> torch.Tensor:
    """``A^beta`` with unit column sums, squared ``exp_times`` times."""
    trans = normalized_affinity(affinity, beta)
    for _ in range(exp_times):
        trans = trans @ trans
    return trans


def normalized_affinity(
    affinity: torch.Tensor, beta: float = 10
) -> torch.Tensor:
    """One step of the walk: ``A^beta`` with unit column sums."""
    trans = affinity.pow(beta)
    return trans / trans.sum(dim=0, keepdim=True)


def propagate_to_edge(
    x: torch.Tensor,
    edge: torch.Tensor,
    radius: float = 5,
    beta: float = 10,
    exp_times: int = 8,
    method: str = 'auto',
) -> torch.Tensor:
    """Random walk of score maps within boundaries: ``x T^(2^exp_times)``.

    Args:
        x: ``(K, h, w)`` scores on the boundary map's grid.
        edge: ``(h, w)`` boundary probabilities.
        method: ``'square'`` forms ``T^(2^e)`` by squaring ``T`` e times
            (IRN; ``e`` products of ``n x n`` matrices), ``'steps'`` applies
            the ``2^e`` steps to the K maps one after the other (``2^e``
            products of ``K x n`` with ``n x n``; the same result up to
            rounding, cheaper when ``K 2^e < e n``), ``'auto'`` picks the
            cheaper.

    Returns:
        torch.Tensor: ``(K, h, w)`` propagated scores.
    """
    if x.shape[-2:] != edge.shape:
        raise ValueError(
            f'Seeds {tuple(x.shape[-2:])} and boundary map '
            f'{tuple(edge.shape)} differ in size.'
        )
    if method not in ('auto', 'square', 'steps'):
        raise ValueError(f'Unknown random-walk method {method!r}.')
    h, w = edge.shape
    n, k = h * w, len(x)
    x = (x * (1 - edge)).reshape(k, n)
    if method == 'auto':
        method = 'steps' if k * 2**exp_times < exp_times * n else 'square'
    if method == 'square':
        trans = transition_matrix(dense_affinity(edge, radius), beta,
                                  exp_times)
        return (x @ trans).reshape(k, h, w)
    step = normalized_affinity(dense_affinity(edge, radius), beta)
    for _ in range(2**exp_times):
        x = x @ step
    return x.reshape(k, h, w)


def random_walk_maps(
    cams,
    edge: torch.Tensor,
    power: float = 1.5,
    radius: float = 5,
    beta: float = 10,
    exp_times: int = 8,
    stride: int = 4,
) -> torch.Tensor:
    """Full-resolution seeds -> random-walk maps in ``[0, 1]``.

    Args:
        cams: ``(K, H, W)`` normalised seeds of the image's classes.
        edge: ``(h, w)`` boundary map with ``h = (H - 1) // stride + 1``.
        power: exponent applied to the strided seeds.

    Returns:
        torch.Tensor: ``(K, H, W)`` float32 maps divided by their global
        maximum (all zero when the walk gives nothing).
    """
    cams = torch.as_tensor(np.asarray(cams, np.float32)).to(edge.device)
    k, height, width = cams.shape
    seeds = strided_seeds(cams, stride)
    if seeds.shape[-2:] != edge.shape:
        raise ValueError(
            f'Boundary map {tuple(edge.shape)} does not fit seeds of size '
            f'{(height, width)} at stride {stride} '
            f'(expected {tuple(seeds.shape[-2:])}).'
        )
    if k == 0:
        return cams.new_zeros(0, height, width)
    rw = propagate_to_edge(seeds.pow(power), edge.float(), radius, beta,
                           exp_times)
    up = F.interpolate(
        rw[None], scale_factor=stride, mode='bilinear', align_corners=False
    )[0, :, :height, :width]
    peak = up.max()
    return up / peak if peak > 0 else torch.zeros_like(up)
