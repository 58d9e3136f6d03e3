# Copyright (c) mmwsl contributors. All rights reserved.
"""wsolevaluation's ``evaluation_test.py`` cases (spec 7.1), the worked
examples of spec 9.3, the fast box path against the literal per-threshold
loop of ``tools/analysis_tools/benchmark_metrics.py``, the contour box rule
the level bounds rely on, and the level bounds against that loop."""

import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage

from mmwsl.evaluation.functional import (
    best_iou_per_threshold,
    box_iou,
    cam_to_box_bas,
    cam_to_boxes,
    check_box_convention,
    correct_per_threshold,
    max_box_acc,
    resize_bbox,
    resize_crop_bbox,
    threshold_grid,
)
from mmwsl.evaluation.functional.box_extraction import _level_boxes

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_benchmark():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_metrics.py')
    spec = importlib.util.spec_from_file_location('benchmark_metrics', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = load_benchmark()
SPEC_THRESHOLDS = [0, 0.2, 0.4, 0.6000000000000001, 0.8]


# --- spec 7.1: EvalUtilTest ------------------------------------------------
def test_iou_shape_type_degenerate_zero():
    ious = box_iou(np.zeros((3, 4), int), np.zeros((5, 4), int))
    assert isinstance(ious, np.ndarray)
    assert ious.dtype == np.float64
    assert ious.shape == (3, 5)
    np.testing.assert_array_equal(ious, np.ones((3, 5)))


def test_iou_box_convention():
    with pytest.raises(RuntimeError):
        box_iou(np.array([[1, 1, 0, 0]]), np.array([[1, 1, 2, 2]]))
    with pytest.raises(RuntimeError):
        check_box_convention(np.array([[-1, 0, 2, 2]]))
    with pytest.raises(RuntimeError):
        check_box_convention(np.zeros((2, 3)))


def test_iou_eye_boxes():
    boxes = np.array([[1, 1, 3, 3], [4, 4, 5, 5]])
    np.testing.assert_array_equal(box_iou(boxes, boxes), np.eye(2))


def test_iou_realistic_values():
    ious = box_iou(np.array([[1, 2, 5, 6]]), np.array([[3, 1, 4, 5]]))
    assert ious[0, 0] == pytest.approx(8 / 27, abs=1e-6)


def test_iou_continuous_convention():
    # CCAM / PSOL: no +1, so [0, 0, 2, 2] has area 4.
    ious = box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]], pixel_offset=0)
    assert ious[0, 0] == pytest.approx(1 / 7)


def test_resize_bbox():
    assert resize_bbox((1, 2, 4, 3), (10, 20), (35, 10)) == (3, 1, 14, 1)
    assert resize_bbox((1, 2, 1, 2), (3, 3), (3, 3)) == (1, 2, 1, 2)


def test_resize_crop_bbox_bas():
    # CUB image 1 (500x335), box 60,27,385,331 (x + w, y + h, unclipped).
    box = resize_crop_bbox((60, 27, 385, 331), (500, 335))
    assert box == (
        int(60 * 256 / 500 - 16),
        int(27 * 256 / 335 - 16),
        int(min(385 * 256 / 500 - 16, 223)),
        int(min(331 * 256 / 335 - 16, 223)),
    )
    # In the cropped-off margin x1 goes negative; int truncates toward 0.
    assert resize_crop_bbox((0, 0, 10, 10), (256, 256)) == (0, 0, -6, -6)
    assert resize_crop_bbox((0, 0, 15.5, 15.5), (256, 256)) == (0, 0, 0, 0)


def test_boxes_degenerate():
    boxes = cam_to_boxes(np.zeros((3, 3)), np.arange(0, 1, 0.2))
    assert len(boxes) == 5
    for b in boxes:
        assert b.dtype == np.int64
        np.testing.assert_array_equal(b[0], [0, 0, 0, 0])


def test_boxes_unimodal():
    cam = np.array(
        [
            [0, 0, 0, 0, 0],
            [0, 0.4, 0.4, 0.4, 0.6],
            [0, 0.4, 1, 0.8, 0.6],
            [0, 0.4, 0.4, 0.4, 0.6],
        ]
    )
    boxes = cam_to_boxes(cam, SPEC_THRESHOLDS)
    assert [b[0].tolist() for b in boxes] == [
        [1, 1, 4, 3],
        [1, 1, 4, 3],
        [2, 1, 4, 3],
        [2, 2, 4, 3],
        [2, 2, 3, 3],
    ]


def test_boxes_multimodal():
    cam = np.array(
        [
            [0.4, 0, 0.2, 0.2, 0.2],
            [0.4, 0.4, 0, 0.4, 0],
            [0, 0, 0, 0.4, 0],
            [1, 0.6, 0.8, 0.2, 0.2],
        ]
    )
    boxes = cam_to_boxes(cam, SPEC_THRESHOLDS)
    assert [b[0].tolist() for b in boxes] == [
        [0, 0, 4, 3],
        [0, 0, 2, 2],
        [0, 3, 3, 3],
        [2, 3, 3, 3],
        [0, 3, 1, 3],
    ]


def test_boxes_nan_and_bad_maps():
    with pytest.raises(ValueError, match='NaN'):
        cam_to_boxes(np.full((3, 3), np.nan), SPEC_THRESHOLDS)
    with pytest.raises(ValueError, match='2D'):
        cam_to_boxes(np.zeros((1, 3, 3)), SPEC_THRESHOLDS)
    with pytest.raises(ValueError, match='range'):
        cam_to_boxes(np.full((3, 3), 1.5), SPEC_THRESHOLDS)
    with pytest.raises(TypeError):
        cam_to_boxes(np.zeros((3, 3), np.uint8), SPEC_THRESHOLDS)


# --- spec 2.1 details --------------------------------------------------------
def test_boxes_strict_quantised_threshold():
    # 0.5 is uint8 127: background at tau 0.50 (t = 127), foreground at
    # tau 0.49 (t = 124).
    cam = np.zeros((6, 6))
    cam[0, 0] = 1.0
    cam[3, 3] = 0.5
    b50, b49 = cam_to_boxes(cam, [0.50, 0.49], multi_contour=True)
    assert b50.tolist() == [[0, 0, 1, 1]]
    assert sorted(b49.tolist()) == [[0, 0, 1, 1], [3, 3, 4, 4]]


def test_boxes_full_map_and_ring_holes():
    full = cam_to_boxes(np.ones((224, 224)), [0.5])[0]
    assert full.tolist() == [[0, 0, 223, 223]]
    ring = np.zeros((20, 20))
    ring[2:18, 2:18] = 1
    ring[6:14, 6:14] = 0
    assert cam_to_boxes(ring, [0.5])[0].tolist() == [[2, 2, 18, 18]]
    assert sorted(
        cam_to_boxes(ring, [0.5], multi_contour=True)[0].tolist()
    ) == [[2, 2, 18, 18], [5, 5, 15, 15]]


def test_boxes_accept_tensor_and_float32():
    cam = np.random.default_rng(0).random((16, 16))
    ref = cam_to_boxes(cam, SPEC_THRESHOLDS, multi_contour=True)
    got = cam_to_boxes(torch.from_numpy(cam), SPEC_THRESHOLDS, True)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


# --- spec 9.3: MaxBoxAcc worked example -------------------------------------
def worked_example():
    a = np.zeros((10, 10))
    a[1:4, 1:4] = 1
    a[5:9, 5:9] = 1
    b = np.zeros((10, 10))
    b[2:8, 2:8] = 0.5
    b[4:6, 4:6] = 1
    return [a, b], [np.array([[1, 1, 3, 3]]), np.array([[2, 2, 7, 7]])]


def test_max_box_acc_worked_example():
    cams, gts = worked_example()
    thresholds = threshold_grid(0.01)
    single = max_box_acc(cams, gts, thresholds, multi_contour=False)
    assert single['acc'] == {30: 50.0, 50: 50.0, 70: 50.0}
    multi = max_box_acc(cams, gts, thresholds)
    assert multi['acc'] == {30: 100.0, 50: 100.0, 70: 50.0}
    assert multi['mean'] == pytest.approx(250 / 3)
    assert set(multi) == {'acc', 'best_threshold', 'mean'}
    assert multi['best_threshold'][30] == 0.0
    # At tau = 0.50 image b's 0.5 block drops out: box [4,4,6,6], IoU 0.25.
    ious = best_iou_per_threshold(cams[1], gts[1], [0.49, 0.50])
    assert ious[0] == pytest.approx(36 / 49)
    assert ious[1] == pytest.approx(0.25)


def test_max_box_acc_empty_map_box_counts():
    # An all-zero map gives [0, 0, 0, 0] (area 1), which matches a GT box
    # [0, 0, 0, 0] with IoU 1 (wsolevaluation) -- it is not skipped.
    res = max_box_acc(
        [np.zeros((5, 5))], [np.array([[0, 0, 0, 0]])], threshold_grid(0.01)
    )
    assert res['acc'] == {30: 100.0, 50: 100.0, 70: 100.0}


def test_max_box_acc_bad_input():
    cams, gts = worked_example()
    with pytest.raises(ValueError, match='one entry per image'):
        max_box_acc(cams, gts[:1], threshold_grid(0.01))
    with pytest.raises(ValueError, match=r'cams\[1\]'):
        max_box_acc(
            [cams[0], np.full((10, 10), np.nan)], gts, threshold_grid(0.01)
        )
    with pytest.raises(RuntimeError, match=r'cams\[0\]: gt_boxes'):
        max_box_acc(
            cams, [np.array([[5, 5, 1, 1]]), gts[1]], threshold_grid(0.01)
        )


# --- fast path == literal per-threshold loop --------------------------------
@pytest.mark.parametrize('multi_contour', [True, False])
@pytest.mark.parametrize('interval', [0.01, 0.001])
def test_fast_path_equals_baseline_loop(multi_contour, interval):
    cams, gts = BENCH.random_cams(12, size=96, noise=0.5, seed=3)
    thresholds = threshold_grid(interval)
    ref = BENCH.baseline_box_acc_curve(
        cams, gts, thresholds, (30, 50, 70), multi_contour
    )
    fast = (
        sum(
            correct_per_threshold(
                c, g, thresholds, (30, 50, 70), multi_contour
            ).astype(int)
            for c, g in zip(cams, gts)
        )
        * 100.0
        / len(cams)
    )
    np.testing.assert_array_equal(fast, ref)


def test_boxes_equal_baseline_on_noisy_maps():
    """Every box (order included for the single-contour tie-break) equals
    wsolevaluation's on maps with many contours, holes and ties."""
    rng = np.random.default_rng(7)
    thresholds = threshold_grid(0.01)
    for trial in range(6):
        size = (31, 47) if trial % 2 else (40, 40)
        cam = rng.random(size)
        if trial >= 3:  # coarse levels: many equal values and plateaus
            cam = np.round(cam * 4) / 4
        for multi in (True, False):
            ref = BENCH.baseline_boxes(cam, thresholds, multi)
            got = cam_to_boxes(cam, thresholds, multi)
            for r, g in zip(ref, got):
                if multi:
                    assert sorted(r.tolist()) == sorted(g.tolist())
                else:
                    assert r.tolist() == g.tolist()


def test_skipped_levels_never_change_the_result():
    cams, gts = BENCH.random_cams(8, size=64, noise=0.3, seed=11)
    thresholds = threshold_grid(0.001)
    for cam, gt in zip(cams, gts):
        ious = best_iou_per_threshold(cam, gt, thresholds)
        bits = correct_per_threshold(cam, gt, thresholds)
        expected = np.stack([ious >= d / 100 for d in (30, 50, 70)])
        np.testing.assert_array_equal(bits, expected)


# --- BAS box rule (spec 2.2) ---------------------------------------------
def test_bas_box_rule():
    cam = np.zeros((8, 10), np.float32)
    cam[1:3, 1:3] = 0.9  # 4 pixels
    cam[4:7, 5:9] = 0.5  # 12 pixels: largest by pixel count
    boxes = cam_to_box_bas(cam, [0.1, 0.6, 0.95])
    assert boxes.tolist() == [[5, 4, 9, 7], [1, 1, 3, 3], [0, 0, 10, 8]]


def test_bas_box_rule_tie_and_edges():
    cam = np.zeros((4, 6))
    cam[0, 4:6] = 1  # touches the right edge: x1 = 6, unclipped
    cam[3, 0:2] = 1  # same size, later in raster order
    assert cam_to_box_bas(cam, [0.5]).tolist() == [[4, 0, 6, 1]]
    # 8-connectivity: a diagonal chain is one component.
    diag = np.eye(5)
    assert cam_to_box_bas(diag, [0.5]).tolist() == [[0, 0, 5, 5]]


def test_bas_box_rule_compares_in_map_precision():
    # float32(0.1) > 0.1 in float64, but not in float32 (BAS's comparison).
    cam = np.full((3, 3), 0.1, np.float32)
    cam[1, 1] = 0.5
    assert cam_to_box_bas(cam, [0.1]).tolist() == [[1, 1, 2, 2]]


# --- the box rule the level bounds rely on ----------------------------------
def components_and_holes_boxes(binary):
    """wsolevaluation boxes predicted from connectivity alone: every
    8-connected foreground component gives its bounding box, every
    4-connected background component off the border (a hole) gives its
    bounding box grown by one pixel, both with the right and bottom edges
    one past the last pixel and clipped to the map."""
    height, width = binary.shape
    boxes = []
    labels, _ = ndimage.label(binary, structure=np.ones((3, 3)))
    for rows, cols in ndimage.find_objects(labels):
        boxes.append(
            (
                cols.start,
                rows.start,
                min(cols.stop, width - 1),
                min(rows.stop, height - 1),
            )
        )
    labels, _ = ndimage.label(~binary)
    for rows, cols in ndimage.find_objects(labels):
        if (
            rows.start == 0
            or cols.start == 0
            or rows.stop == height
            or cols.stop == width
        ):
            continue
        boxes.append(
            (
                cols.start - 1,
                rows.start - 1,
                min(cols.stop + 1, width - 1),
                min(rows.stop + 1, height - 1),
            )
        )
    return sorted(boxes)


def contour_boxes(binary):
    image = binary.astype(np.uint8) * 255
    contours = cv2.findContours(image, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[
        -2
    ]
    height, width = binary.shape
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        boxes.append((x, y, min(x + w, width - 1), min(y + h, height - 1)))
    return sorted(boxes)


def test_contour_boxes_are_component_and_hole_boxes():
    """findContours' boxes are exactly the component boxes and the grown
    hole boxes: on every 3x4, 4x3 and 2x6 map, on random maps of several
    densities and on diagonal, nested-ring, border-hole and line patterns."""
    maps = []
    for shape in [(3, 4), (4, 3), (2, 6)]:
        n = shape[0] * shape[1]
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        maps.extend(b.reshape(shape).astype(bool) for b in bits)
    rng = np.random.default_rng(0)
    for _ in range(600):
        shape = tuple(rng.integers(1, 21, 2))
        maps.append(rng.random(shape) < rng.choice([0.1, 0.3, 0.5, 0.7, 0.9]))
    rings = np.zeros((20, 20), bool)
    for k in range(0, 10, 2):  # nested rings with holes and islands
        rings[k : 20 - k, k : 20 - k] = k % 4 == 0
    maps += [
        np.eye(7, dtype=bool) | np.eye(7, dtype=bool)[::-1],  # diagonals
        ~np.eye(7, dtype=bool),  # diagonal background: two corner parts
        np.indices((9, 9)).sum(0) % 2 == 0,  # checkerboard
        rings,
        ~rings,
        np.pad(np.ones((1, 8), bool), 2),  # 1-pixel line
        np.ones((5, 6), bool),
        np.zeros((5, 6), bool),
        np.pad(np.ones((1, 1), bool), 3),
    ]
    border_hole = np.ones((6, 6), bool)
    border_hole[0, 2] = border_hole[1, 2] = border_hole[3, 3] = False
    maps.append(border_hole)
    for binary in maps:
        assert contour_boxes(binary) == components_and_holes_boxes(binary)


# --- level bounds: exact against the per-threshold loop ---------------------
def random_map(rng, kind):
    height, width = rng.integers(3, 33, 2)
    if kind == 0:  # noise
        cam = rng.random((height, width))
    elif kind == 1:  # smooth, CAM-like
        side = int(rng.integers(2, 7))
        cam = cv2.resize(
            rng.random((side, side)),
            (int(width), int(height)),
            interpolation=cv2.INTER_CUBIC,
        )
    elif kind == 2:  # few values: plateaus and ties
        cam = np.round(rng.random((height, width)) * rng.integers(2, 6))
    elif kind == 3:  # a bump with noise
        yy, xx = np.mgrid[:height, :width]
        cam = (
            -(((yy - rng.uniform(0, height)) / height) ** 2)
            - ((xx - rng.uniform(0, width)) / width) ** 2
        )
        cam = cam + 0.3 * rng.random((height, width))
    elif kind == 4:  # low border rows and columns, cut off from the rest
        cam = 0.5 + 0.5 * rng.random((height, width))
        cam[rng.random((height, width)) < rng.uniform(0, 0.5)] = 0.2
        cam[:, -1] = rng.random(height) ** 3
        cam[-1, :] = rng.random(width) ** 3
    else:  # nested frames: rings, holes and islands
        cam = 0.02 * rng.random((height, width))
        for _ in range(int(rng.integers(1, 5))):
            y0, y1 = sorted(rng.integers(0, height, 2))
            x0, x1 = sorted(rng.integers(0, width, 2))
            value = rng.uniform(0.1, 1)
            cam[y0 : y1 + 1, x0 : x1 + 1] = value
            cam[y0 + 1 : y1, x0 + 1 : x1] = rng.uniform(0, value)
    cam = cam - cam.min()
    return cam / cam.max() if cam.max() > 0 else cam


def random_gt_boxes(rng, height, width):
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.2:
            boxes.append(
                [int(rng.integers(0, width)), 0, width - 1, height - 1]
            )
        else:
            x0, x1 = sorted(rng.integers(0, width, 2))
            y0, y1 = sorted(rng.integers(0, height, 2))
            boxes.append([x0, y0, x1, y1])
    return np.array(boxes)


def test_level_bounds_equal_baseline_on_small_maps():
    rng = np.random.default_rng(5)
    iou_lists = [(30, 50, 70), (10, 50, 90), (50,), (5, 20, 35, 60, 95)]
    for trial in range(240):
        cam = random_map(rng, trial % 6)
        gts = random_gt_boxes(rng, *cam.shape)
        thresholds = threshold_grid(0.01 if trial % 8 else 0.001)
        iou_thresholds = iou_lists[trial % 4]
        ref = BENCH.baseline_correct(
            cam, gts, thresholds, iou_thresholds, True
        )
        got = correct_per_threshold(cam, gts, thresholds, iou_thresholds)
        np.testing.assert_array_equal(got, ref, err_msg=f'trial {trial}')


def test_level_bounds_settle_levels():
    """Most levels are settled without tracing: the low ones (the whole map
    but scattered pits) by the component spanning the map, those under
    each traced level of the bump by the bump's box; the bits stay
    wsolevaluation's."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :40]
    bump = 1 - ((yy - 20) ** 2 + (xx - 20) ** 2) / 100
    cam = np.maximum(bump, rng.uniform(0.02, 0.3, (40, 40)))
    gt = np.array([[12, 12, 28, 28]])
    thresholds = threshold_grid(0.001)
    level = _level_boxes(cam, thresholds, True, gt, [0.3, 0.5, 0.7])
    traced = np.isnan(level.settled)
    assert traced.sum() < len(traced) / 2
    full_iou = 17 * 17 / 40**2  # the whole map's box against the GT box
    assert (level.settled == full_iou).sum() >= 20
    assert (level.settled[~traced] >= 0.7).sum() >= 5
    ref = BENCH.baseline_correct(cam, gt, thresholds, (30, 50, 70), True)
    np.testing.assert_array_equal(
        correct_per_threshold(cam, gt, thresholds), ref
    )
