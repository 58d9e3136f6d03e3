# ACoL with VGG-16 (wsolevaluation VggAcol): conv1_1-conv5_3 (no pool5,
# 14x14 maps at 224), 3x3 average pool (stride 1), then two classifiers
# conv3x3(512->1024)-ReLU-conv3x3(1024->1024)-ReLU-conv1x1(->K); delta 0.7
# (official ACoL: 0.6). New layers xavier-initialised.
# Differences from the references kept here: mmpretrain's VGG pools with
# MaxPool(2, 2); wsolevaluation's 14x14 VGG uses MaxPool(3, 2, 1) for
# pool1-4 and adds MaxPool(3, 1, 1) after conv5_3, the official ACoL VGG
# has pool4 at stride 1 (28x28 maps).
model = dict(
    type='mmwsl.WSOLClassifier',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.VGG',
        depth=16,
        with_last_pool=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth',
            prefix='backbone.',
        ),
    ),
    head=dict(
        type='mmwsl.ACoLHead',
        num_classes=200,
        in_channels=512,
        mid_channels=1024,
        delta=0.7,
        feat_avg_pool=True,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
    # wsolevaluation map rule: bicubic upsampling, then min-max.
    test_cfg=dict(resize_mode='bicubic', normalize_first=False),
)

# SGD (Nesterov) lr 0.01, weight decay 1e-4; everything outside the VGG
# features (the ACoL branches) at 10x.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}),
)
