# CAM baseline with ResNet-50 on ILSVRC (6 epochs, batch 32).
_base_ = [
    '../_base_/models/cam_resnet50.py',
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/default_runtime.py',
]

param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[3],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=1)
