# cam_resnet18-pre_synthetic-wsss.py at output stride 8 (layer3 at stride
# 1, layer4 dilated by 2): a 16 x 16 CAM grid at 128 px, closer to the 28 x 28
# grid of the reference recipes at 448 px than the 8 x 8 grid at stride 16.
# The CAM baseline of configs/bas/bas_resnet18-d8-pre_synthetic-wsss.py.
_base_ = ['./cam_resnet18-pre_synthetic-wsss.py']

model = dict(backbone=dict(strides=(1, 2, 1, 1), dilations=(1, 1, 1, 2)))
pseudo_label_cfg = dict(output_stride=8)
