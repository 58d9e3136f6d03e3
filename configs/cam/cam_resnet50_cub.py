# CAM baseline (GAP + linear classifier, CAM from the classifier weights) with
# an ImageNet-pretrained ResNet-50 at output stride 16 (layer4 stride 1:
# 14x14 maps at 224 px) on CUB-200-2011.
_base_ = [
    '../_base_/datasets/cub_wsol.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='mmwsl.WSOLClassifier',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            prefix='backbone',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
    ),
    head=dict(type='mmwsl.CAMHead', num_classes=200, in_channels=2048),
)

# The new classifier learns 10x faster than the pretrained backbone.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[15, 30],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=32)
