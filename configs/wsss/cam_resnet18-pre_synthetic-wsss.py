# The synthetic multi-label CAM baseline with a pre-trained backbone, as in
# the real recipes (ImageNet weights, backbone at 0.1x the lr of the new
# layers, IRN's CAM recipe): the backbone starts from the synthetic WSOL CAM
# classifier, which plays the role of the ImageNet model here. Train it
# first (it writes the checkpoint below):
#   python tools/train.py configs/cam/cam_resnet18_synthetic.py
# The comparisons of configs/bas, configs/hfpl and configs/wsss "with a
# pre-trained backbone" all start from this checkpoint with this schedule.
_base_ = ['./cam_resnet18_synthetic-wsss.py']

pretrained = 'work_dirs/cam_resnet18_synthetic/epoch_8.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
