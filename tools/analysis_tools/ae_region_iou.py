# Copyright (c) mmwsl contributors. All rights reserved.
"""Score the regions mined by adversarial erasing against object masks.

For every finished round t of an AE run (``tools/train_erasing.py``), the
mined region of each image (the union over its classes) is compared with
the ground-truth object mask (GT label > 0, 255 ignored), for round t alone
and for the merge of rounds 1..t. Reported per round, with pixel counts
summed over the data set: object IoU, precision (mined pixels inside
objects) and recall (object pixels mined), and the class-aware mIoU of
``M_c`` against ``GT == c + 1`` over the foreground classes.

Example:
    python tools/analysis_tools/ae_region_iou.py \\
        work_dirs/ae_resnet18_synthetic-wsss \\
        --gt-dir data/synthetic_wsss/masks/train
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402

from mmwsl.apis.adversarial_erasing import (  # noqa: E402
    IMAGES_FILE,
    done_rounds,
    load_state,
    merged_regions,
    read_json,
)
from mmwsl.datasets.wsss_labels import read_label_map  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='AE run folder')
    parser.add_argument(
        '--gt-dir', help='GT label PNGs <id>.png (default: images.json)')
    parser.add_argument('--out', help='write the results as JSON here')
    return parser.parse_args()


def score(root: str, gt_dir: str) -> list:
    state = load_state(root)
    if state is None:
        raise FileNotFoundError(f'No ae_state.json in {root}.')
    images = read_json(osp.join(root, IMAGES_FILE))['images']
    rounds = done_rounds(state)
    if not rounds:
        raise ValueError(f'{root} has no finished round.')
    num_classes = 1 + max(
        (max(s['labels']) for s in images if s['labels']), default=0)
    # counts[mode][t] = [inter, union, mined, object] and class I/U.
    counts = {m: {t: np.zeros(4) for t in rounds} for m in ('alone', 'merged')}
    cls_iu = {m: {t: np.zeros((2, num_classes)) for t in rounds}
              for m in ('alone', 'merged')}
    for s in images:
        gt = read_label_map(osp.join(gt_dir, s['id'] + '.png'))
        valid = gt != 255
        obj = (gt > 0) & valid
        keys = s['labels']
        merged = np.zeros((len(keys), ) + gt.shape, bool)
        for t in rounds:
            alone = merged_regions(root, [t], s['id'], keys, gt.shape)
            merged |= alone
            for mode, masks in (('alone', alone), ('merged', merged)):
                region = masks.any(0) & valid
                counts[mode][t] += [(region & obj).sum(), (region | obj).sum(),
                                    region.sum(), obj.sum()]
                for k, m in zip(keys, masks):
                    g = (gt == k + 1) & valid
                    m = m & valid
                    cls_iu[mode][t][:, k] += [(m & g).sum(), (m | g).sum()]
    results = []
    for t in rounds:
        row = dict(round=t)
        for mode in ('alone', 'merged'):
            i, u, mined, obj = counts[mode][t]
            inter, union = cls_iu[mode][t]
            row[mode] = dict(
                object_iou=100 * i / max(u, 1),
                precision=100 * i / max(mined, 1),
                recall=100 * i / max(obj, 1),
                class_miou=100 * float(np.mean(inter / np.maximum(union, 1))),
            )
        row['mean_erased_fraction'] = state['rounds'][str(t)].get(
            'stats', {}).get('mean_erased_fraction')
        results.append(row)
    return results


def main():
    args = parse_args()
    gt_dir = args.gt_dir or read_json(osp.join(args.root,
                                               IMAGES_FILE)).get('gt_dir')
    if not gt_dir:
        raise ValueError('Give --gt-dir (images.json names no GT folder).')
    results = score(args.root, gt_dir)
    print('round | alone: IoU  prec  rec  cls-mIoU | merged 1..t: IoU  prec '
          ' rec  cls-mIoU | erased')
    for r in results:
        a, m = r['alone'], r['merged']
        print(f'{r["round"]:5d} | {a["object_iou"]:5.1f} {a["precision"]:5.1f}'
              f' {a["recall"]:5.1f} {a["class_miou"]:5.1f} | '
              f'{m["object_iou"]:5.1f} {m["precision"]:5.1f} '
              f'{m["recall"]:5.1f} {m["class_miou"]:5.1f} | '
              f'{r["mean_erased_fraction"]:.3f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
