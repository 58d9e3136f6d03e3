# Copyright (c) mmwsl contributors. All rights reserved.
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from mmwsl.registry import HOOKS


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Save CAM overlays with ground-truth and predicted boxes.

    Draws every ``interval``-th sample of validation and test runs on the
    network input the model saw. ``tools/test.py --show-dir DIR`` enables it
    and writes ``DIR/<image name>.png``.

    Args:
        enable: Draw at all.
        interval: Draw every ``interval``-th sample.
        threshold: CAM threshold of the drawn predicted box.
        out_dir: Folder for PNG files (relative paths are taken inside the
            run's log folder); without it images go to the visualizer's
            backends.
        max_images: Stop after this many images per run (``None``: all).
    """

    def __init__(self,
                 enable: bool = False,
                 interval: int = 1,
                 threshold: float = 0.2,
                 out_dir: Optional[str] = None,
                 max_images: Optional[int] = None):
        self.enable = enable
        self.interval = max(int(interval), 1)
        self.threshold = threshold
        self.out_dir = out_dir
        self.max_images = max_images
        self._seen = 0
        self._drawn = 0

    def before_val_epoch(self, runner) -> None:
        self._seen = self._drawn = 0

    def before_test_epoch(self, runner) -> None:
        self._seen = self._drawn = 0

    def _draw(self, runner, data_batch: dict, outputs: Sequence,
              step: int) -> None:
        if not self.enable:
            return
        visualizer = Visualizer.get_current_instance()
        classes = (getattr(visualizer, 'dataset_meta', None)
                   or {}).get('classes')
        for inp, sample in zip(data_batch['inputs'], outputs):
            self._seen += 1
            if (self._seen - 1) % self.interval:
                continue
            if self.max_images is not None and \
                    self._drawn >= self.max_images:
                return
            if 'cam' not in sample:
                continue
            image = np.ascontiguousarray(
                inp.permute(1, 2, 0).cpu().numpy()[..., ::-1])  # BGR->RGB
            name = osp.splitext(osp.basename(
                sample.get('img_path', f'{self._seen:06d}')))[0]
            out_file = None
            if self.out_dir is not None:
                out_dir = self.out_dir if osp.isabs(self.out_dir) else \
                    osp.join(runner.log_dir, self.out_dir)
                out_file = osp.join(out_dir, f'{name}.png')
            visualizer.add_datasample(
                name, image, sample, out_file=out_file, step=step,
                threshold=self.threshold, classes=classes)
            self._drawn += 1

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        self._draw(runner, data_batch, outputs, runner.iter)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        self._draw(runner, data_batch, outputs, batch_idx)
