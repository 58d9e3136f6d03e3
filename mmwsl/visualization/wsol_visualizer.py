# Copyright (c) mmwsl contributors. All rights reserved.
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from mmwsl.registry import VISUALIZERS


def overlay_cam(image: np.ndarray, cam: np.ndarray,
                alpha: float = 0.5) -> np.ndarray:
    """Blend a jet-coloured CAM onto an image.

    Args:
        image: H×W×3 uint8 RGB image.
        cam: H×W float map in ``[0, 1]`` (resized to the image if needed).
        alpha: Weight of the heat map.

    Returns:
        H×W×3 uint8 RGB image.
    """
    cam = np.asarray(cam, np.float32)
    if cam.shape != image.shape[:2]:
        cam = cv2.resize(cam, image.shape[1::-1],
                         interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap(
        np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return np.uint8(image * (1 - alpha) + heat * alpha)


def write_image_atomic(path: str, image_rgb: np.ndarray) -> None:
    """Write an RGB image to ``path`` via a temporary file + rename."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    root, ext = osp.splitext(path)
    tmp = f'{root}.tmp{os.getpid()}{ext}'
    if not mmcv.imwrite(mmcv.rgb2bgr(image_rgb), tmp, auto_mkdir=True):
        raise OSError(f'Could not write {path}')
    os.replace(tmp, path)


@VISUALIZERS.register_module()
class WSOLVisualizer(Visualizer):
    """Draws CAM overlays with ground-truth (green) and predicted (red)
    boxes and the predicted class.

    Args:
        name: Instance name.
        alpha: Weight of the heat map in the overlay.
        **kwargs: Passed to :class:`mmengine.visualization.Visualizer`
            (``vis_backends``, ``save_dir``...).
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha = alpha

    def draw_cam(self,
                 image: np.ndarray,
                 cam: np.ndarray,
                 gt_bboxes: Optional[np.ndarray] = None,
                 pred_bboxes: Optional[np.ndarray] = None,
                 text: Optional[str] = None) -> np.ndarray:
        """Return the RGB overlay of ``cam`` on ``image`` with boxes.

        Args:
            image: H×W×3 uint8 RGB image at the CAM's resolution.
            cam: H×W float map in ``[0, 1]``.
            gt_bboxes: N×4 xyxy boxes drawn in green.
            pred_bboxes: M×4 xyxy boxes drawn in red.
            text: Caption drawn at the top-left corner.
        """
        self.set_image(overlay_cam(image, cam, self.alpha))
        for boxes, colour in ((gt_bboxes, 'lime'), (pred_bboxes, 'red')):
            if boxes is not None and len(boxes):
                self.draw_bboxes(
                    np.asarray(boxes, np.float32).reshape(-1, 4),
                    edge_colors=colour, line_widths=2)
        if text:
            self.draw_texts(text, np.array([2, 2]), colors='white',
                            font_sizes=8,
                            bboxes=dict(facecolor='black', alpha=0.6,
                                        pad=1, edgecolor='none'))
        return self.get_image()

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       threshold: float = 0.2,
                       classes: Optional[Sequence[str]] = None) -> None:
        """Draw one predicted sample (with a ``cam`` field).

        The predicted box is the largest connected region of the CAM above
        ``threshold`` (wsolevaluation box extraction).
        """
        from mmwsl.evaluation.functional import cam_to_boxes
        cam = data_sample.cam
        cam = cam.cpu().numpy() if isinstance(cam, torch.Tensor) else cam
        cam = np.asarray(cam, np.float64)
        gt = pred = None
        if draw_gt and 'gt_bboxes' in data_sample:
            gt = np.asarray(data_sample.gt_bboxes.cpu())
        if draw_pred:
            pred = cam_to_boxes(cam, [threshold])[0]
        text = None
        if 'pred_label' in data_sample:
            label = int(data_sample.pred_label[0])
            score = float(data_sample.pred_score[label])
            cname = classes[label] if classes else str(label)
            text = f'{cname} {score:.2f}'
        drawn = self.draw_cam(image, cam, gt, pred, text)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            write_image_atomic(out_file, drawn)
        else:
            self.add_image(name, drawn, step)
