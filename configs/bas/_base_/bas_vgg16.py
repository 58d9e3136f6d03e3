# BAS with VGG-16 (spec section 1.1): conv4_3 (+ReLU, before pool4) is the
# tap F_tap (512 x 28 x 28 at 224); pool4 and conv5_1-conv5_3 form the late
# stage (512 x 14 x 14); pool5 is dropped. Values for CUB (BAS-Extension).
model = dict(
    type='mmwsl.BAS',
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
    # features: conv1_1 conv1_2 pool1 | conv2_x pool2 | conv3_x pool3 |
    # conv4_1 conv4_2 conv4_3 (index 12) pool4 | conv5_1 conv5_2 conv5_3
    tap='features.12',
    late_pool=None,
    head=dict(
        type='mmwsl.BASHead',
        num_classes=200,
        in_channels=512,
        tap_channels=512,
        mid_channels=(1024, 1024),
        final_relu=False,
        loss_fg=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=0.0),
        # The extension's VGG model masks with 0, the others with 1.
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=0.0),
        loss_area=dict(type='mmwsl.AreaLoss', loss_weight=0.9),
        cam_topk=80,
        # New VGG layers: N(0, 0.02) weights (the reference keeps PyTorch's
        # default bias init; mmengine's Normal init sets biases to 0).
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.02),
    ),
    test_cfg=dict(resize_mode='bilinear', normalize_first=True, eps=1e-5),
)
