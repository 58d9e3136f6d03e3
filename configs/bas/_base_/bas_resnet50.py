# BAS with ResNet-50 (spec section 1.2): layer3 at stride 1 is the tap
# F_tap (1024 x 28 x 28 at 224); a 2x2 max-pool then layer4 (also stride 1)
# form the late stage (2048 x 14 x 14). Values for CUB (BAS-Extension);
# dataset configs override num_classes, alpha/beta and the map classes.
model = dict(
    type='mmwsl.BAS',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 1, 1),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone.',
        ),
    ),
    tap='layer3',
    late_pool=2,
    head=dict(
        type='mmwsl.BASHead',
        num_classes=200,
        in_channels=2048,
        tap_channels=1024,
        mid_channels=(1024, 1024),
        final_relu=False,
        # alpha
        loss_fg=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=0.5),
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=1.0),
        # beta
        loss_area=dict(type='mmwsl.AreaLoss', loss_weight=1.5),
        # CUB: mean of the maps of all 200 classes (class-agnostic map).
        cam_topk=200,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
    # Min-max normalise (+1e-5), then bilinear resize to the input size.
    test_cfg=dict(resize_mode='bilinear', normalize_first=True, eps=1e-5),
)
