# Copyright (c) mmwsl contributors. All rights reserved.
"""IRN random walk on hand-made boundary maps."""

import numpy as np
import pytest
import torch

from mmwsl.apis.random_walk import (
    dense_affinity,
    normalized_affinity,
    propagate_to_edge,
    random_walk_maps,
    scaled_size,
    sparse_transition_t,
    strided_seeds,
    transition_matrix,
)


def wall_edge(h=8, w=9, col=4):
    edge = torch.zeros(h, w)
    edge[:, col] = 1.0
    return edge


def test_dense_affinity_and_transition():
    edge = torch.zeros(5, 6)
    aff = dense_affinity(edge, radius=2)
    assert aff.shape == (30, 30)
    assert torch.equal(aff, aff.T)
    assert torch.equal(aff.diagonal(), torch.ones(30))
    # No boundary: affinity 1 to the 8 neighbours within radius 2 (inside
    # the grid), 0 beyond.
    centre = 2 * 6 + 2
    assert aff[centre].sum().item() == 9
    assert aff[0].sum().item() == 4  # corner: itself + 3 neighbours
    t = transition_matrix(aff, beta=10, exp_times=3)
    assert torch.allclose(t.sum(0), torch.ones(30), atol=1e-5)
    # A soft boundary value b gives (1 - b) ** beta before normalising.
    edge[2, 3] = 0.5
    aff = dense_affinity(edge, radius=2)
    assert aff[2 * 6 + 2, 2 * 6 + 3].item() == 0.5
    t = transition_matrix(aff, beta=10, exp_times=0)
    col = aff[:, centre] ** 10
    assert torch.allclose(t[:, centre], col / col.sum())


def test_walk_stays_inside_the_region_bounded_by_an_edge():
    edge = wall_edge()
    seeds = torch.zeros(2, 8, 9)
    seeds[0, 2, 1] = 1.0  # class A seed on the left of the wall
    seeds[1, 5, 7] = 0.6  # class B seed on the right
    rw = propagate_to_edge(seeds, edge, radius=3, beta=10, exp_times=8)
    left, right = rw[:, :, :4], rw[:, :, 5:]
    assert torch.all(right[0] == 0) and torch.all(left[1] == 0)
    # Each seed spreads over its whole region (2^8 steps mix it fully).
    assert torch.all(left[0] > 0) and torch.all(right[1] > 0)
    assert (left[0].max() / left[0].min()).item() < 1.01
    # Columns of T sum to 1: every output is a weighted mean of the
    # inputs of its region (one seed among 32 cells: a small constant).
    assert 0 < left[0].max().item() < 1 / 16
    assert right[1].max().item() < 0.6 / 16
    # Seeds on the wall itself are removed by the (1 - edge) factor.
    seeds = torch.zeros(1, 8, 9)
    seeds[0, 3, 4] = 1.0
    assert propagate_to_edge(seeds, edge, radius=3).abs().sum() == 0


def test_without_edges_the_walk_mixes_everything():
    seeds = torch.zeros(1, 6, 6)
    seeds[0, 0, 0] = 1.0
    rw = propagate_to_edge(seeds, torch.zeros(6, 6), radius=3)
    assert torch.all(rw > 0)


def test_random_walk_maps_full_resolution():
    # 31 x 35 image -> 8 x 9 grid at stride 4.
    cams = np.zeros((2, 31, 35), np.float32)
    cams[0, 8:12, 4:8] = 1.0
    cams[1, 20:24, 28:32] = 0.8
    assert strided_seeds(torch.from_numpy(cams)).shape == (2, 8, 9)
    maps = random_walk_maps(cams, wall_edge(), power=1.5, radius=3)
    assert maps.shape == (2, 31, 35)
    assert maps.max().item() == pytest.approx(1.0)
    label = maps.argmax(0)
    # Columns 0..14 (grid columns 0..3) belong to A, 20.. to B.
    assert torch.all(label[:, :14] == 0) and torch.all(label[:, 20:] == 1)
    assert random_walk_maps(cams[:0], wall_edge()).shape == (0, 31, 35)
    with pytest.raises(ValueError, match='does not fit'):
        random_walk_maps(cams, torch.zeros(5, 5))


def test_random_walk_maps_use_the_strided_seeds():
    # Full-resolution seeds only in region A; the file's strided seeds
    # (IRN's ``cam``) only in region B: at scale 1 the walk starts from
    # the strided ones.
    cams = np.zeros((1, 31, 35), np.float32)
    cams[0, 8:12, 4:8] = 1.0
    small = np.zeros((1, 8, 9), np.float32)
    small[0, 5, 7] = 1.0
    maps = random_walk_maps(cams, wall_edge(), radius=3, strided=small)
    assert maps[0, :, :14].max() == 0 and maps[0, :, 20:].max() > 0.5
    without = random_walk_maps(cams, wall_edge(), radius=3)
    assert without[0, :, 20:].max() == 0 and without[0, :, :14].max() > 0.5
    # At another scale the grid differs: the full-resolution seeds are
    # enlarged and averaged instead.
    two = random_walk_maps(cams, wall_edge(16, 18, 8), radius=3, scale=2,
                           strided=small)
    assert two[0, :, 20:].max() == 0
    with pytest.raises(ValueError, match=r'Strided seeds \(1, 7, 9\)'):
        random_walk_maps(cams, wall_edge(), strided=small[:, :7])


def test_step_by_step_walk_equals_matrix_squaring():
    g = torch.Generator().manual_seed(0)
    edge = torch.rand(7, 9, generator=g) ** 3
    seeds = torch.rand(3, 7, 9, generator=g)
    a = propagate_to_edge(seeds, edge, radius=3, exp_times=5, method='square')
    b = propagate_to_edge(seeds, edge, radius=3, exp_times=5, method='steps')
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match='Unknown random-walk method'):
        propagate_to_edge(seeds, edge, method='power')


def test_sparse_walk_equals_dense():
    g = torch.Generator().manual_seed(1)
    edge = torch.rand(7, 9, generator=g) ** 2
    seeds = torch.rand(2, 7, 9, generator=g)
    dense = normalized_affinity(dense_affinity(edge, 3), 10)
    torch.testing.assert_close(
        sparse_transition_t(edge, 3, 10).to_dense(), dense.t()
    )
    a = propagate_to_edge(seeds, edge, radius=3, exp_times=5, method='steps')
    b = propagate_to_edge(seeds, edge, radius=3, exp_times=5,
                          method='sparse')
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_random_walk_maps_at_scale_2():
    assert scaled_size(31, 35, 2.0) == (62, 70)
    assert scaled_size(31, 35, 0.5) == (16, 18)
    with pytest.raises(ValueError, match='scale must be positive'):
        scaled_size(31, 35, 0)
    # 16 x 16 image, class A seeds on the left, B on the right; at scale 2
    # the grid is 8 x 8 (2 px a cell) with a boundary in grid column 4,
    # i.e. image columns 8-9.
    cams = np.zeros((2, 16, 16), np.float32)
    cams[0, 4:12, 1:7] = 1.0
    cams[1, 4:12, 11:15] = 1.0
    edge = torch.zeros(8, 8)
    edge[:, 4] = 1.0
    maps = random_walk_maps(cams, edge, radius=3, scale=2.0)
    assert maps.shape == (2, 16, 16)
    assert maps.max().item() == pytest.approx(1.0)
    # A stays left of the boundary, B right of it; only the 2 px of the
    # boundary cell (plus 1 px of bilinear blur on each side) get neither.
    assert torch.all(maps[0, :, 10:] == 0) and torch.all(maps[1, :, :8] == 0)
    assert torch.all(maps[0, :, :7] > 0.5) and torch.all(maps[1, :, 11:] > 0.5)
    with pytest.raises(ValueError, match='scale 2.0'):
        random_walk_maps(cams, torch.zeros(4, 4), scale=2.0)
