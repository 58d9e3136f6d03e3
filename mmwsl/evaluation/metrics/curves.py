# Copyright (c) mmwsl contributors. All rights reserved.
"""Threshold-curve plots saved next to the run's log (no pyplot state)."""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger


def resolve_out_dir(out_dir: Optional[str]) -> Optional[str]:
    """``out_dir``, or the current run's log folder (``work_dir/<time>``
    of a Runner), or None when neither exists."""
    if out_dir is not None:
        return out_dir
    log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
    return osp.dirname(log_file) if log_file else None


def save_curves(out_dir: str,
                name: str,
                x: Sequence[float],
                curves: Dict[str, Sequence[float]],
                xlabel: str,
                ylabel: str,
                title: str,
                marks: Optional[Dict[str, float]] = None) -> str:
    """Plot ``curves`` (label -> y values over ``x``) to ``<name>.png`` and
    write the numbers to ``<name>.json`` in ``out_dir``.

    Args:
        marks: optional label -> x position of a vertical marker (e.g. the
            best threshold of each curve).

    Returns:
        str: the path of the PNG file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    os.makedirs(out_dir, exist_ok=True)
    x = np.asarray(x, np.float64)
    fig = Figure(figsize=(6, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for label, y in curves.items():
        line, = ax.plot(x, np.asarray(y, np.float64), label=label)
        if marks and label in marks:
            ax.axvline(marks[label], color=line.get_color(), ls=':', lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='best')
    fig.tight_layout()
    png = osp.join(out_dir, f'{name}.png')
    fig.savefig(png)
    with open(osp.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump(
            {
                'x': x.tolist(),
                'curves': {k: np.asarray(v).tolist()
                           for k, v in curves.items()},
                'marks': marks or {},
            }, f)
    return png
