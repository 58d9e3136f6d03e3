# hfpl-multinomial_cam_resnet18_synthetic-wsss.py with the pre-trained backbone and the
# schedule of configs/wsss/cam_resnet18-pre_synthetic-wsss.py (train
# configs/cam/cam_resnet18_synthetic.py first).
_base_ = [
    './hfpl-multinomial_cam_resnet18_synthetic-wsss.py',
    '../_base_/models/synthetic_pretrained.py',
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))
optim_wrapper = dict(paramwise_cfg={{_base_.pretrained_paramwise}})
