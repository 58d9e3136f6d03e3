# Copyright (c) mmwsl contributors. All rights reserved.
import numpy as np

from mmwsl.visualization import WSOLVisualizer, overlay_cam


def test_overlay_cam_colours_hot_regions_red():
    img = np.full((32, 32, 3), 128, np.uint8)
    cam = np.zeros((32, 32))
    cam[8:16, 8:16] = 1
    out = overlay_cam(img, cam, alpha=0.5)
    assert out.shape == img.shape and out.dtype == np.uint8
    hot, cold = out[12, 12], out[28, 28]
    assert hot[0] > hot[2]  # red dominates where the CAM is 1 (RGB)
    assert cold[2] > cold[0]  # blue where it is 0


def test_draw_cam_boxes():
    vis = WSOLVisualizer(name='test_draw_cam_boxes')
    img = np.zeros((40, 40, 3), np.uint8)
    out = vis.draw_cam(img, np.zeros((40, 40)),
                       gt_bboxes=np.array([[5, 5, 30, 30]]),
                       pred_bboxes=np.array([[10, 10, 20, 20]]))
    assert out.shape == (40, 40, 3)
    # Green left edge of the GT box, red top edge of the predicted box.
    assert out[18, 5, 1] > 150 and out[18, 5, 0] < 100
    assert out[10, 15, 0] > 150 and out[10, 15, 1] < 100
