# CAM baseline with ResNet-50 on CUB-200-2011 (50 epochs, batch 32).
_base_ = [
    '../_base_/models/cam_resnet50.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor=dict(num_classes=200),
             head=dict(num_classes=200))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[15, 30],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=5)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
