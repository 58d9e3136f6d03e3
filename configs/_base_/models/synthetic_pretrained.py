# The pre-trained backbone of the synthetic "-pre" configs: the half-width
# ResNet-18 of the synthetic WSOL CAM classifier stands in for ImageNet
# weights. Train it first (it writes the checkpoint below):
#   python tools/train.py configs/cam/cam_resnet18_synthetic.py
# A config inherits this file next to its own base and uses
#   model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))
#   optim_wrapper = dict(paramwise_cfg={{_base_.pretrained_paramwise}})
# (the backbone at 0.1x the lr of the new layers, as the real recipes).
pretrained = 'work_dirs/cam_resnet18_synthetic/epoch_8.pth'
pretrained_init = dict(
    type='Pretrained', checkpoint=pretrained, prefix='backbone.')
pretrained_paramwise = dict(custom_keys={'backbone': dict(lr_mult=0.1)})
