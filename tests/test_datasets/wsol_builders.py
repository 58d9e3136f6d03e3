# Copyright (c) mmwsl contributors. All rights reserved.
"""Miniature WSOL datasets written as real files for the dataset tests."""

import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

# Miniature CUB: (image id, relative path, class id, is_train, W, H,
# raw box (x, y, w, h) as written in bounding_boxes.txt).
CUB_IMAGES = [
    (
        1,
        '001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg',
        1,
        0,
        50,
        40,
        (10.0, 5.0, 20.0, 30.0),
    ),
    (
        2,
        '001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg',
        1,
        1,
        64,
        48,
        (0.0, 0.0, 64.0, 48.0),
    ),
    (
        3,
        '002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg',
        2,
        0,
        40,
        60,
        (3.0, 7.0, 37.0, 53.0),
    ),
    (
        4,
        '200.Common_Yellowthroat/Common_Yellowthroat_0003_190521.jpg',
        200,
        1,
        30,
        30,
        (2.0, 3.0, 10.0, 12.0),
    ),
]

# The converted inclusive-corner boxes, by image id:
# (x, y, min(x + w, W - 1), min(y + h, H - 1)).
CUB_BOXES = {
    1: (10, 5, 30, 35),
    2: (0, 0, 63, 47),
    3: (3, 7, 39, 59),
    4: (2, 3, 12, 15),
}


def write_image(path: str, width: int, height: int, seed: int = 0) -> None:
    """A random-texture colour image of ``width``×``height``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)


def write_mask(path: str, mask: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, mask.astype(np.uint8))


def write_lines(path: str, lines: Sequence[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def build_cub(root: str, with_mask: bool = True) -> str:
    """Write a miniature CUB_200_2011 folder; return its path."""
    root = osp.join(root, 'CUB_200_2011')
    images, labels, splits, boxes = [], [], [], []
    for img_id, rel, cls, train, w, h, box in CUB_IMAGES:
        images.append(f'{img_id} {rel}')
        labels.append(f'{img_id} {cls}')
        splits.append(f'{img_id} {train}')
        boxes.append(f'{img_id} ' + ' '.join(f'{v:.1f}' for v in box))
        write_image(osp.join(root, 'images', rel), w, h, seed=img_id)
        if with_mask:
            mask = np.zeros((h, w), np.uint8)
            x0, y0, x1, y1 = CUB_BOXES[img_id]
            mask[y0 : y1 + 1, x0 : x1 + 1] = 255
            write_mask(
                osp.join(root, 'segmentations', osp.splitext(rel)[0] + '.png'),
                mask,
            )
    # The official files end with a newline.
    for name, lines in (
        ('images.txt', images),
        ('image_class_labels.txt', labels),
        ('train_test_split.txt', splits),
        ('bounding_boxes.txt', boxes),
    ):
        write_lines(osp.join(root, name), lines + [''])
    return root


def replace_line(path: str, lineno: int, new: str) -> None:
    """Replace 1-based line ``lineno`` of ``path`` (``None`` deletes it)."""
    with open(path) as f:
        lines = f.read().split('\n')
    if new is None:
        del lines[lineno - 1]
    else:
        lines[lineno - 1] = new
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


# Miniature ILSVRC (wsolevaluation layout): image id -> (label, W, H, boxes).
ILSVRC_VAL: Dict[str, tuple] = {
    'val2/0/0.jpeg': (0, 50, 40, [(5, 6, 30, 20)]),
    'val2/0/1.jpeg': (0, 60, 45, [(45 // 3, 4, 59, 44), (2, 9, 43, 27)]),
    'val2/999/0.jpeg': (999, 32, 32, [(0, 0, 31, 31)]),
}


def build_wsoleval_boxes(
    root: str, dataset: str, split: str, samples: Dict[str, tuple]
) -> str:
    """Write wsolevaluation metadata + images for a box dataset; return the
    wsolevaluation root (holding ``metadata/`` and ``dataset/``)."""
    meta = osp.join(root, 'metadata', dataset, split)
    ids, labels, sizes, locs = [], [], [], []
    for k, (img_id, (label, w, h, boxes)) in enumerate(samples.items()):
        ids.append(img_id)
        labels.append(f'{img_id},{label}')
        sizes.append(f'{img_id},{w},{h}')
        locs += [f'{img_id},' + ','.join(map(str, b)) for b in boxes]
        write_image(osp.join(root, 'dataset', dataset, img_id), w, h, k)
    write_lines(osp.join(meta, 'image_ids.txt'), ids)
    write_lines(osp.join(meta, 'class_labels.txt'), labels)
    write_lines(osp.join(meta, 'image_sizes.txt'), sizes)
    write_lines(osp.join(meta, 'localization.txt'), locs)
    return root


# Miniature OpenImages: image id -> (label, W, H, instance rectangles
# (x0, y0, x1, y1) inclusive, ignore rectangle or None). Masks and ignore
# masks are PNGs of the image size next to the image.
OPENIMAGES_VAL: Dict[str, tuple] = {
    'val/0bt_c3/1cd9ac0169ec7df0.jpg': (
        0,
        448,
        448,
        [(100, 60, 299, 199)],
        (0, 300, 447, 447),
    ),
    'val/0bt_c3/3a29f0b33894d4a6.jpg': (
        0,
        64,
        48,
        [(2, 2, 9, 9), (20, 30, 40, 40)],
        None,
    ),
    'val/0by6g/b4d953e7105da1d8.jpg': (
        1,
        40,
        40,
        [(0, 0, 39, 39)],
        (0, 0, 10, 10),
    ),
}


def openimages_mask_name(img_id: str, k: int) -> str:
    return osp.splitext(img_id)[0] + f'_m{k}.png'


def openimages_ignore_name(img_id: str) -> str:
    return osp.splitext(img_id)[0] + '_ignore.png'


def build_openimages(
    root: str, split: str = 'val', samples: Dict[str, tuple] = OPENIMAGES_VAL
) -> str:
    """Write wsolevaluation OpenImages metadata, images and masks; return
    the wsolevaluation root."""
    meta = osp.join(root, 'metadata', 'OpenImages', split)
    data = osp.join(root, 'dataset', 'OpenImages')
    ids, labels, locs = [], [], []
    for k, (img_id, (label, w, h, rects, ignore)) in enumerate(
        samples.items()
    ):
        ids.append(img_id)
        labels.append(f'{img_id},{label}')
        write_image(osp.join(data, img_id), w, h, k)
        for i, (x0, y0, x1, y1) in enumerate(rects):
            mask = np.zeros((h, w), np.uint8)
            mask[y0 : y1 + 1, x0 : x1 + 1] = 255
            name = openimages_mask_name(img_id, i)
            write_mask(osp.join(data, name), mask)
            ign_name = ''
            if i == 0 and ignore is not None:
                ign = np.zeros((h, w), np.uint8)
                ix0, iy0, ix1, iy1 = ignore
                ign[iy0 : iy1 + 1, ix0 : ix1 + 1] = 255
                ign_name = openimages_ignore_name(img_id)
                write_mask(osp.join(data, ign_name), ign)
            locs.append(f'{img_id},{name},{ign_name}')
    write_lines(osp.join(meta, 'image_ids.txt'), ids)
    write_lines(osp.join(meta, 'class_labels.txt'), labels)
    write_lines(osp.join(meta, 'image_sizes.txt'), [])  # empty, as upstream
    write_lines(osp.join(meta, 'localization.txt'), locs)
    return root


def box_of(mask: np.ndarray) -> List[int]:
    """Inclusive bounding box of the non-zero pixels of a 2-D array."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
