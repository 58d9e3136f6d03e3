# ACoL with ResNet-50 (wsolevaluation ResNetAcol): layer4 at stride 1
# (14x14 maps at 224), no average pool, the two classifiers
# conv3x3(2048->1024)-ReLU-conv3x3(1024->1024)-ReLU-conv1x1(->K) on layer4;
# delta 0.7 (official ACoL: 0.6, VGG only). New layers kaiming-initialised.
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
            checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone.',
        ),
    ),
    head=dict(
        type='mmwsl.ACoLHead',
        num_classes=200,
        in_channels=2048,
        mid_channels=1024,
        delta=0.7,
        feat_avg_pool=False,
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                      nonlinearity='relu', distribution='normal'),
    ),
    test_cfg=dict(resize_mode='bicubic', normalize_first=False),
)

# SGD (Nesterov) lr 0.01, weight decay 1e-4; layer4 and the ACoL branches
# at 10x (wsolevaluation's ResNet rule).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'layer4': dict(lr_mult=10.0),
        'head': dict(lr_mult=10.0),
    }),
)
