# The synthetic multi-label CAM baseline with a pre-trained backbone, as in
# the real recipes (ImageNet weights, backbone at 0.1x the lr of the new
# layers, IRN's CAM recipe): the backbone starts from the synthetic WSOL CAM
# classifier, which plays the role of the ImageNet model here (see
# ../_base_/models/synthetic_pretrained.py; train
# configs/cam/cam_resnet18_synthetic.py first). The comparisons "with a
# pre-trained backbone" of configs/bas, configs/hfpl and configs/wsss all
# start from that checkpoint with this schedule.
_base_ = [
    './cam_resnet18_synthetic-wsss.py',
    '../_base_/models/synthetic_pretrained.py',
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))
optim_wrapper = dict(paramwise_cfg={{_base_.pretrained_paramwise}})
