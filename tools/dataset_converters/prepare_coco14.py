# Copyright (c) mmwsl contributors. All rights reserved.
"""Prepare COCO 2014 for mmwsl's WSSS configs.

Reads ``annotations/instances_{split}.json`` under COCO_ROOT and writes, per
split (train2014, val2014 by default):

* ``cls_labels_{split}.txt``: image-level labels of every image (80 classes
  in ascending COCO id order, 0-based; images without objects have none);
* ``ImageSets/{split}.txt``: the images with at least one label;
* ``SegmentationClass/{split}/<image>.png``: 81-class GT rendered from the
  instances as HFPL does (annotation order, later instances on top, crowd
  regions painted with their class, no ignore label). Existing PNGs are kept
  (the rendering resumes after an interruption); writes are atomic.

Missing pieces (annotation files, image folders, images) are reported.
Example:
    python tools/dataset_converters/prepare_coco14.py data/coco
"""

import argparse
import os
import os.path as osp
import sys
from collections import defaultdict

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from PIL import Image  # noqa: E402

from mmwsl.datasets.coco import (
    category_index,
    image_labels,  # noqa: E402
    load_instances,
    render_label_map,
)
from mmwsl.datasets.wsss_labels import write_label_file  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write COCO 2014 image labels and segmentation GT'
    )
    parser.add_argument('root', help='COCO folder (with annotations/)')
    parser.add_argument(
        '--splits', nargs='+', default=['train2014', 'val2014']
    )
    parser.add_argument(
        '--no-masks', action='store_true', help='skip the GT PNGs'
    )
    parser.add_argument(
        '--force', action='store_true', help='rewrite existing files'
    )
    return parser.parse_args(argv)


def prepare_split(root: str, split: str, masks: bool, force: bool) -> dict:
    ann_path = osp.join(root, 'annotations', f'instances_{split}.json')
    if not osp.isfile(ann_path):
        return dict(split=split, missing=[ann_path])
    data = load_instances(ann_path)
    if len(data['categories']) != 80:
        print(
            f'warning: {ann_path} has {len(data["categories"])} '
            f'categories, expected 80.'
        )
    labels = image_labels(data)
    images = sorted(data['images'], key=lambda im: im['file_name'])
    stems = [osp.splitext(im['file_name'])[0] for im in images]
    label_path = osp.join(root, f'cls_labels_{split}.txt')
    if force or not osp.isfile(label_path):
        write_label_file(
            label_path, {s: labels[im['id']] for s, im in zip(stems, images)}
        )
    list_path = osp.join(root, 'ImageSets', f'{split}.txt')
    os.makedirs(osp.dirname(list_path), exist_ok=True)
    tmp = f'{list_path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        f.writelines(
            f'{s}\n' for s, im in zip(stems, images) if labels[im['id']]
        )
    os.replace(tmp, list_path)

    img_dir = osp.join(root, split)
    missing = []
    if not osp.isdir(img_dir):
        missing.append(img_dir)
    else:
        absent = [
            im['file_name']
            for im in images
            if not osp.isfile(osp.join(img_dir, im['file_name']))
        ]
        if absent:
            missing.append(
                f'{len(absent)} images, e.g. {osp.join(img_dir, absent[0])}'
            )
    written = 0
    if masks:
        index = category_index(data['categories'])
        by_image = defaultdict(list)
        for ann in data['annotations']:  # keeps the file's order
            by_image[ann['image_id']].append(ann)
        out_dir = osp.join(root, 'SegmentationClass', split)
        os.makedirs(out_dir, exist_ok=True)
        for stem, im in zip(stems, images):
            out = osp.join(out_dir, stem + '.png')
            if osp.isfile(out) and not force:
                continue
            label = render_label_map(
                im['height'], im['width'], by_image[im['id']], index
            )
            tmp = osp.join(out_dir, f'.{stem}.{os.getpid()}.tmp.png')
            Image.fromarray(label).save(tmp)
            os.replace(tmp, out)
            written += 1
    return dict(
        split=split,
        missing=missing,
        num_images=len(images),
        num_labelled=sum(1 for im in images if labels[im['id']]),
        masks_written=written,
    )


def main(argv=None) -> list:
    args = parse_args(argv)
    if not osp.isdir(args.root):
        raise FileNotFoundError(f'{args.root} is not a folder.')
    reports = []
    for split in args.splits:
        rep = prepare_split(args.root, split, not args.no_masks, args.force)
        reports.append(rep)
        if 'num_images' in rep:
            print(
                f'{split}: {rep["num_images"]} images, '
                f'{rep["num_labelled"]} with labels, '
                f'{rep["masks_written"]} GT PNGs written'
            )
        for item in rep['missing']:
            print(f'  [MISSING] {item}')
    return reports


if __name__ == '__main__':
    main()
