# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN random walk: seeds + a class-boundary map -> pseudo-masks.

``specs/bas.md`` 5.3 (IRN ``propagate_to_edge`` and
``make_sem_seg_labels``):

1. seeds on the stride-4 grid (``(H - 1) // 4 + 1`` cells per side), raised
   to ``power`` (1.5 in BAS): the ``strided`` maps of the seed files (the
   CAM output upsampled straight to that grid, IRN's ``cam``), or, for
   files without them, the full-resolution maps averaged over each cell
   (:func:`strided_seeds`);
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

With ``scale != 1`` (an mmwsl option, not IRN's) the boundary map is that
of the image enlarged ``scale`` times (:func:`scaled_size`), the seeds are
enlarged bilinearly to the same size and averaged over the cells in step 1,
and the maps are taken back to the image size after step 5, so a grid cell
covers ``stride / scale`` pixels of the image; IRN is ``scale = 1``.
6. the label is the argmax with a constant background score
   (``sem_seg_bg_thres`` 0.22), applied by :class:`PseudoLabelWriter`.
"""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from mmwsl.models.layers.path_index import PathIndex, edge_to_affinity

from .pseudo_label import strided_size


def strided_seeds(cams: torch.Tensor, stride: int = 4) -> torch.Tensor:
    """Full-resolution seeds -> the stride grid by averaging each
    ``stride x stride`` cell (edges replicated to complete the last cell).

    Args:
        cams: ``(K, H, W)`` maps.

    Returns:
        torch.Tensor: ``(K, (H - 1) // stride + 1, (W - 1) // stride + 1)``.
    """
    k, height, width = cams.shape
    h, w = strided_size(height, width, stride)
    if k == 0:
        return cams.new_zeros(0, h, w)
    x = cams[None].float()
    pad = (0, w * stride - width, 0, h * stride - height)
    if any(pad):
        x = F.pad(x, pad, mode='replicate')
    return F.avg_pool2d(x, stride)[0]


def affinity_pairs(edge: torch.Tensor, radius: float = 5) -> tuple:
    """Affinities of the cell pairs within ``radius`` of a boundary map.

    Pairs with an end outside the map have affinity 0 (IRN pads the map
    with boundary value 1), so only pairs inside it are built.

    Args:
        edge: ``(h, w)`` boundary probabilities.
        radius: pair radius in cells.

    Returns:
        tuple: ``(i, j, a)``, flat cell indices of the two ends and the
        affinities ``1 - max(boundary on the path)``; every unordered pair
        of distinct cells once.
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
    return (sy * w + sx)[inside], (dy * w + dx)[inside], aff[inside]


def dense_affinity(edge: torch.Tensor, radius: float = 5) -> torch.Tensor:
    """Pairwise affinity matrix of a boundary map (:func:`affinity_pairs`).

    Args:
        edge: ``(h, w)`` boundary probabilities.
        radius: pair radius in cells.

    Returns:
        torch.Tensor: ``(h w, h w)`` symmetric affinities, 1 on the
        diagonal.
    """
    i, j, vals = affinity_pairs(edge, radius)
    n = edge.numel()
    dense = torch.zeros(n, n, dtype=edge.dtype, device=edge.device)
    dense.index_put_((i, j), vals, accumulate=True)
    dense.index_put_((j, i), vals, accumulate=True)
    dense.diagonal().add_(1.0)
    return dense


def sparse_transition_t(
    edge: torch.Tensor, radius: float = 5, beta: float = 10
) -> torch.Tensor:
    """Transpose of one walk step (:func:`normalized_affinity` of
    :func:`dense_affinity`) as a sparse CSR matrix, built from the pairs
    without the ``n x n`` dense matrix (about ``pi r^2`` non-zeros a row).

    Returns:
        torch.Tensor: ``(h w, h w)`` sparse CSR ``T^t``.
    """
    i, j, vals = affinity_pairs(edge, radius)
    n = edge.numel()
    diag = torch.arange(n, device=edge.device)
    rows = torch.cat([i, j, diag])
    cols = torch.cat([j, i, diag])
    vals = torch.cat([vals, vals, vals.new_ones(n)]).pow(beta)
    col_sum = vals.new_zeros(n).index_add_(0, cols, vals)
    trans_t = torch.sparse_coo_tensor(
        torch.stack([cols, rows]), vals / col_sum[cols], (n, n)
    )
    with warnings.catch_warnings():  # 'sparse CSR support is in beta'
        warnings.simplefilter('ignore', UserWarning)
        return trans_t.coalesce().to_sparse_csr()


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
            rounding, cheaper when ``K 2^e < e n``), ``'sparse'`` does the
            same with the sparse one-step matrix
            (:func:`sparse_transition_t`; no ``n x n`` dense matrix),
            ``'auto'`` picks ``'square'`` or, when cheaper, ``'sparse'``.

    Returns:
        torch.Tensor: ``(K, h, w)`` propagated scores.
    """
    if x.shape[-2:] != edge.shape:
        raise ValueError(
            f'Seeds {tuple(x.shape[-2:])} and boundary map '
            f'{tuple(edge.shape)} differ in size.'
        )
    if method not in ('auto', 'square', 'steps', 'sparse'):
        raise ValueError(f'Unknown random-walk method {method!r}.')
    h, w = edge.shape
    n, k = h * w, len(x)
    x = (x * (1 - edge)).reshape(k, n)
    if method == 'auto':
        method = 'sparse' if k * 2**exp_times < exp_times * n else 'square'
    if method == 'square':
        trans = transition_matrix(dense_affinity(edge, radius), beta,
                                  exp_times)
        return (x @ trans).reshape(k, h, w)
    if method == 'sparse':
        # x T = (T^t x^t)^t
        trans_t = sparse_transition_t(edge, radius, beta)
        y = x.t().contiguous()
        for _ in range(2**exp_times):
            y = trans_t @ y
        return y.t().reshape(k, h, w)
    step = normalized_affinity(dense_affinity(edge, radius), beta)
    for _ in range(2**exp_times):
        x = x @ step
    return x.reshape(k, h, w)


def scaled_size(height: int, width: int, scale: float = 1.0) -> tuple:
    """``(round(height * scale), round(width * scale))``, at least 1 (the
    rule of :class:`mmwsl.datasets.transforms.RandomRescale`)."""
    if not scale > 0:
        raise ValueError(f'scale must be positive, got {scale}.')
    return (max(1, int(round(height * scale))),
            max(1, int(round(width * scale))))


def random_walk_maps(
    cams,
    edge: torch.Tensor,
    power: float = 1.5,
    radius: float = 5,
    beta: float = 10,
    exp_times: int = 8,
    stride: int = 4,
    scale: float = 1.0,
    strided=None,
) -> torch.Tensor:
    """Full-resolution seeds -> random-walk maps in ``[0, 1]``.

    Args:
        cams: ``(K, H, W)`` normalised seeds of the image's classes.
        edge: ``(h, w)`` boundary map of the image enlarged ``scale``
            times: ``h = (H' - 1) // stride + 1`` with ``(H', W') =``
            :func:`scaled_size` ``(H, W, scale)``.
        power: exponent applied to the strided seeds.
        scale: input scale of the boundary map (1: IRN).
        strided: ``(K, h, w)`` seeds on the stride grid (IRN's ``cam``),
            used at ``scale = 1``; None (or another scale) averages
            ``cams`` over the grid cells instead.

    Returns:
        torch.Tensor: ``(K, H, W)`` float32 maps divided by their global
        maximum (all zero when the walk gives nothing).
    """
    cams = torch.as_tensor(np.asarray(cams, np.float32)).to(edge.device)
    k, orig_h, orig_w = cams.shape
    height, width = scaled_size(orig_h, orig_w, scale)
    if k and (height, width) != (orig_h, orig_w):
        cams = F.interpolate(
            cams[None], size=(height, width), mode='bilinear',
            align_corners=False)[0]
    if strided is not None and (height, width) == (orig_h, orig_w):
        seeds = torch.as_tensor(np.asarray(strided, np.float32)).to(
            edge.device)
        grid = (k, ) + strided_size(orig_h, orig_w, stride)
        if tuple(seeds.shape) != grid:
            raise ValueError(
                f'Strided seeds {tuple(seeds.shape)} do not fit seeds '
                f'{tuple(cams.shape)} at stride {stride}.')
    else:
        seeds = strided_seeds(cams, stride)
    if seeds.shape[-2:] != edge.shape:
        raise ValueError(
            f'Boundary map {tuple(edge.shape)} does not fit seeds of size '
            f'{(orig_h, orig_w)} at stride {stride} and scale {scale} '
            f'(expected {tuple(seeds.shape[-2:])}).'
        )
    if k == 0:
        return cams.new_zeros(0, orig_h, orig_w)
    rw = propagate_to_edge(seeds.pow(power), edge.float(), radius, beta,
                           exp_times)
    up = F.interpolate(
        rw[None], scale_factor=stride, mode='bilinear', align_corners=False
    )[0, :, :height, :width]
    if (height, width) != (orig_h, orig_w):
        up = F.interpolate(
            up[None], size=(orig_h, orig_w), mode='bilinear',
            align_corners=False)[0]
    peak = up.max()
    return up / peak if peak > 0 else torch.zeros_like(up)
