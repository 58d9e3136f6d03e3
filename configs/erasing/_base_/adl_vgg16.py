# ADL with VGG-16 (wsolevaluation VggCam with ADL): ADL (drop rate 0.75,
# gamma 0.9) after pool3, after conv4_3 and after conv5_3 (mmpretrain VGG
# features 9, 12 and 16; no pool5, 14x14 maps at 224), then conv6
# (3x3, 512->1024) + ReLU, GAP and a linear classifier; CAM from its
# weights. Convolutions xavier-, the linear layer N(0, 0.01)-initialised.
# Differences: mmpretrain's VGG pools with MaxPool(2, 2) (wsolevaluation's
# 14x14 VGG: MaxPool(3, 2, 1)); the official ADL code (TF) uses threshold
# 0.5 by default and 0.9 in its ResNet script.
model = dict(
    type='mmwsl.WSOLClassifier',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmwsl.ADLBackbone',
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
        insert_after=['features.9', 'features.12', 'features.16'],
        drop_rate=0.75,
        gamma=0.9,
    ),
    neck=dict(type='mmwsl.ConvReLUNeck', in_channels=512, out_channels=1024),
    head=dict(type='mmwsl.CAMHead', num_classes=200, in_channels=1024),
    test_cfg=dict(resize_mode='bicubic', normalize_first=False),
)

# SGD (Nesterov) lr 0.01, weight decay 1e-4; conv6 and the classifier
# (everything outside the VGG features) at 10x.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'neck': dict(lr_mult=10.0),
        'head': dict(lr_mult=10.0),
    }),
)
