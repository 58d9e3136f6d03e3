# Copyright (c) mmwsl contributors. All rights reserved.
"""Image-level label files and label maps shared by the WSSS datasets.

Label file format (written by ``tools/dataset_converters/prepare_*.py``), one
image per line, its name then its foreground class indices (0-based, without
background; none for an image without objects)::

    2007_000032 0 14
    2007_000039 19
"""

import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image


def read_label_map(path: str, what: str = 'label map') -> np.ndarray:
    """Read a PNG label map as class indices.

    Palette PNGs (VOC ``SegmentationClass``) give their palette indices,
    grey PNGs (``SegmentationClassAug``, mmwsl pseudo-labels) their values;
    OpenCV would expand a palette PNG to colours, so PIL is used.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} not found.')
    try:
        with Image.open(path) as img:
            if img.mode not in ('P', 'L', 'I', 'I;16'):
                raise ValueError(
                    f'{what} {path} is a {img.mode} image; expected a '
                    f'single-channel (grey or palette) label map.'
                )
            return np.asarray(img)
    except (OSError, SyntaxError) as e:
        raise ValueError(f'Cannot decode {what} {path}: {e}') from None


def read_split(path: str) -> List[str]:
    """Image names of a split file (first token per non-empty line)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Split file {path} not found.')
    with open(path) as f:
        names = [line.split()[0] for line in f if line.strip()]
    return names


def read_label_file(path: str, num_classes: int) -> Dict[str, List[int]]:
    """``{name: [class, ...]}`` from a label file, checking every id.

    Raises:
        ValueError: naming the file and line of a malformed entry, an id
            outside ``[0, num_classes)`` or a repeated name.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Image-level label file {path} not found; build it with '
            f'tools/dataset_converters/prepare_voc12.py or prepare_coco14.py.'
        )
    labels = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            name = parts[0]
            try:
                ids = [int(x) for x in parts[1:]]
            except ValueError:
                raise ValueError(
                    f'{path}:{lineno}: class ids must be '
                    f'integers, got {line.strip()!r}.'
                ) from None
            bad = [i for i in ids if not 0 <= i < num_classes]
            if bad:
                raise ValueError(
                    f'{path}:{lineno}: class ids {bad} of '
                    f'{name} are out of range [0, '
                    f'{num_classes - 1}].'
                )
            if name in labels:
                raise ValueError(f'{path}:{lineno}: {name} is listed twice.')
            labels[name] = sorted(set(ids))
    return labels


def write_label_file(path: str, labels: Dict[str, Sequence[int]]) -> None:
    """Write ``{name: classes}`` in the label file format, atomically."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        for name, ids in labels.items():
            f.write(' '.join([name] + [str(int(i)) for i in ids]) + '\n')
    os.replace(tmp, path)


def labels_from_label_map(
    label_map: np.ndarray, num_classes: int, path: Optional[str] = None
) -> List[int]:
    """Classes present in a label map (0 = background, ``c + 1`` = class c,
    255 = ignore)."""
    values = np.unique(label_map)
    values = values[(values != 0) & (values != 255)]
    bad = values[values > num_classes]
    if len(bad):
        raise ValueError(
            f'{path or "label map"}: values {bad.tolist()} are '
            f'beyond the {num_classes} classes.'
        )
    return [int(v) - 1 for v in values]
