# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN pixel pairs: search directions, paths, flat indices, affinities."""

import numpy as np
import torch

from mmwsl.models.layers.path_index import (
    PathIndex,
    direction_path,
    edge_to_affinity,
    search_directions,
)


def test_search_directions():
    assert search_directions(2) == [(0, 1), (1, -1), (1, 0), (1, 1)]
    # Half of the disc of radius r without the centre.
    for r in (5, 10):
        full = sum(
            1
            for y in range(-r, r + 1)
            for x in range(-r, r + 1)
            if 0 < x * x + y * y < r * r
        )
        assert len(search_directions(r)) * 2 == full
    assert len(search_directions(10)) == 152
    assert len(search_directions(5)) == 34


def test_direction_path():
    p = direction_path(2, 1).tolist()
    # Every point of the 3x2 box is within distance 1 of the line; the
    # destination comes first, the source last.
    assert p == [[2, 1], [1, 1], [2, 0], [0, 1], [1, 0], [0, 0]]
    assert direction_path(0, 3).tolist() == [[0, 3], [0, 2], [0, 1], [0, 0]]
    # (1, -1): the two corner cells are on the path too.
    assert len(direction_path(1, -1)) == 4


def test_path_index_on_tiny_grid():
    pi = PathIndex(2, (3, 4))
    assert pi.radius_floor == 1
    assert pi.cropped_size == (2, 2)
    # Grouped by path length: the straight ones (2 cells) first.
    assert pi.directions.tolist() == [[0, 1], [1, 0], [1, -1], [1, 1]]
    assert pi.src_indices.tolist() == [1, 2, 5, 6]
    assert pi.dst_indices.tolist() == [
        [2, 3, 6, 7],
        [5, 6, 9, 10],
        [4, 5, 8, 9],
        [6, 7, 10, 11],
    ]
    assert [p.shape for p in pi.path_indices] == [(2, 2, 4), (2, 4, 4)]
    # Path of (1, -1) from source 1 (row 0, col 1): cells 4, 0, 5, 1.
    assert sorted(pi.path_indices[1][0][:, 0].tolist()) == [0, 1, 4, 5]
    big = PathIndex(10, (128, 128))
    assert big.num_directions == 152
    assert big.num_sources == (128 - 9) * (128 - 18)


def test_edge_to_affinity_blocks_pairs_across_a_wall():
    pi = PathIndex(3, (6, 8))
    edge = torch.zeros(1, 6, 8)
    edge[0, :, 4] = 1.0  # a vertical wall in column 4
    aff = edge_to_affinity(edge, pi.path_indices)[0].numpy()
    sx = pi.src_indices % 8
    dx = pi.dst_indices % 8
    cross = ((sx < 4) & (dx > 4)) | ((sx > 4) & (dx < 4))
    touch = (sx[None] == 4) | (dx == 4)
    assert cross.any()
    assert np.all(aff[cross | touch] == 0)
    assert np.all(aff[~(cross | touch)] == 1)
    # A soft boundary gives 1 - its maximum on the path.
    edge = torch.full((1, 6, 8), 0.25)
    edge[0, 2, 3] = 0.75
    aff = edge_to_affinity(edge, pi.path_indices)[0]
    assert set(np.round(aff.unique().numpy(), 4).tolist()) == {0.25, 0.75}
