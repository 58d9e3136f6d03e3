# Copyright (c) mmwsl contributors. All rights reserved.
"""Draw the CAM of one image with its predicted box.

Example::

    python tools/analysis_tools/visualize_cam.py CONFIG CKPT IMAGE \\
        --out-file cam.png
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmwsl.apis import inference_model, init_model  # noqa: E402
from mmwsl.visualization import WSOLVisualizer  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Visualize a CAM')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('--out-file', required=True, help='output PNG')
    parser.add_argument(
        '--threshold', type=float, default=0.2, help='CAM threshold')
    parser.add_argument(
        '--label', type=int, help='class of the map (default: top-1)')
    parser.add_argument('--device', default='cpu', help='device')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.image):
        raise FileNotFoundError(f'Image {args.image} not found.')
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.image, threshold=args.threshold,
                             label=args.label)
    text = None
    if result['pred_label'] is not None:
        name = result['pred_class'] or str(result['pred_label'])
        text = f"{name} {result['pred_score'][result['pred_label']]:.2f}"
    vis = WSOLVisualizer(name='visualize_cam')
    vis.draw_cam(result['image'], result['cam'],
                 pred_bboxes=result['bboxes'], text=text)
    from mmwsl.visualization import write_image_atomic
    write_image_atomic(args.out_file, vis.get_image())
    box = result['bboxes'][0].tolist()
    print(f'{args.image}: {text or "class-agnostic map"}, box {box} -> '
          f'{args.out_file}')


if __name__ == '__main__':
    main()
