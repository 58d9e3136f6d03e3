# Copyright (c) mmwsl contributors. All rights reserved.
"""Pixel pairs and the paths between them for inter-pixel relations (IRN).

IRN (Ahn et al., CVPR 2019; used by BAS, ``specs/bas.md`` 5.3) relates each
pixel of the stride-4 feature grid to its neighbours within a radius ``r``.
Only half of the neighbourhood is searched (offsets ``(0, dx)`` with ``dx >
0`` and ``(dy, dx)`` with ``dy > 0``), since the relation is symmetric. The
affinity of a pair is ``1 - max`` of the boundary map over the *path*
between the two pixels: the grid points whose distance to the straight line
from source to destination is below one cell, source and destination
included.

Pairs are handled in bulk: directions with paths of equal length form a
group, and for each group the flat grid indices of every path point for
every source are precomputed (``path_indices``), so the affinity of all pairs
is one gather and one max per group (:func:`edge_to_affinity`).

Sources are the grid points whose whole neighbourhood lies inside the grid:
rows ``[0, H - r_f)`` and columns ``[r_f, W - r_f)`` with ``r_f = ceil(r) -
1``.
"""

import math
from typing import List, Sequence, Tuple

import numpy as np
import torch


def search_directions(radius: float) -> List[Tuple[int, int]]:
    """The searched half-neighbourhood: offsets ``(dy, dx)`` with
    ``dy**2 + dx**2 < radius**2``, first ``(0, 1..)`` then row by row.

    Example: radius 2 gives ``[(0, 1), (1, -1), (1, 0), (1, 1)]``.
    """
    r = int(math.ceil(radius))
    dirs = [(0, dx) for dx in range(1, r)]
    for dy in range(1, r):
        for dx in range(-r + 1, r):
            if dx * dx + dy * dy < radius**2:
                dirs.append((dy, dx))
    return dirs


def direction_path(dy: int, dx: int) -> np.ndarray:
    """Grid points between ``(0, 0)`` and ``(dy, dx)``.

    Points of the bounding box whose perpendicular distance to the line
    through both ends is below 1, ordered by decreasing ``|y| + |x|``, so
    row 0 is the destination and the last row the source.

    Returns:
        np.ndarray: ``(L, 2)`` int64 ``(y, x)`` offsets.
    """
    length_sq = dy * dy + dx * dx
    ys = np.arange(min(0, dy), max(0, dy) + 1)
    xs = np.arange(min(0, dx), max(0, dx) + 1)
    yy, xx = np.meshgrid(ys, xs, indexing='ij')
    yy, xx = yy.reshape(-1), xx.reshape(-1)
    keep = (dy * xx - dx * yy) ** 2 < length_sq
    pts = np.stack([yy[keep], xx[keep]], 1)
    order = np.argsort(-(np.abs(pts[:, 0]) + np.abs(pts[:, 1])), kind='stable')
    return pts[order].astype(np.int64)


class PathIndex:
    """Source/destination pairs and path indices on an ``(H, W)`` grid.

    Args:
        radius: search radius in grid cells (IRN: 10 in training, 5 in the
            random walk).
        size: the grid size ``(H, W)``.

    Attributes:
        directions: ``(D, 2)`` int64 destination offsets ``(dy, dx)`` in
            the order of the affinity channels (grouped by path length).
        path_indices: one ``(P_g, L_g, N)`` int64 array per path-length
            group: flat grid index of path point ``l`` of direction ``p``
            for every source ``n``.
        src_indices: ``(N,)`` flat indices of the sources.
        dst_indices: ``(D, N)`` flat indices of their destinations.
    """

    def __init__(self, radius: float, size: Sequence[int]):
        if radius <= 1:
            raise ValueError(f'PathIndex radius must be > 1, got {radius}.')
        self.radius = radius
        self.radius_floor = int(math.ceil(radius)) - 1
        height, width = int(size[0]), int(size[1])
        rf = self.radius_floor
        crop_h, crop_w = height - rf, width - 2 * rf
        if crop_h < 1 or crop_w < 1:
            raise ValueError(
                f'Grid {(height, width)} is too small for radius {radius}: '
                f'it needs at least {rf + 1} rows and {2 * rf + 1} columns.'
            )
        self.size = (height, width)
        self.cropped_size = (crop_h, crop_w)

        groups = {}
        for dy, dx in search_directions(radius):
            path = direction_path(dy, dx)
            groups.setdefault(len(path), []).append(path)
        self.search_paths = [np.stack(groups[k]) for k in sorted(groups)]
        self.directions = np.concatenate(
            [p[:, 0] for p in self.search_paths]
        )

        full = np.arange(height * width, dtype=np.int64).reshape(
            height, width
        )

        def shifted(dy: int, dx: int) -> np.ndarray:
            return full[dy : dy + crop_h, rf + dx : rf + dx + crop_w].reshape(
                -1
            )

        self.path_indices = [
            np.stack(
                [np.stack([shifted(y, x) for y, x in path]) for path in paths]
            )
            for paths in self.search_paths
        ]
        self.src_indices = shifted(0, 0)
        self.dst_indices = np.concatenate(
            [p[:, 0] for p in self.path_indices]
        )

    @property
    def num_directions(self) -> int:
        return len(self.directions)

    @property
    def num_sources(self) -> int:
        return len(self.src_indices)


def edge_to_affinity(
    edge: torch.Tensor, path_indices: Sequence
) -> torch.Tensor:
    """Affinity of every source/destination pair from a boundary map.

    Args:
        edge: ``(B, H, W)`` or ``(B, 1, H, W)`` boundary probabilities in
            ``[0, 1]``.
        path_indices: :attr:`PathIndex.path_indices` of the same grid.

    Returns:
        torch.Tensor: ``(B, D, N)`` affinities ``1 - max(edge on path)``.
    """
    flat = edge.reshape(edge.shape[0], -1)
    out = []
    for ind in path_indices:
        ind = torch.as_tensor(ind, device=flat.device)
        vals = flat[:, ind.reshape(-1)].view(flat.shape[0], *ind.shape)
        out.append(1 - vals.amax(dim=2))
    return torch.cat(out, dim=1)
