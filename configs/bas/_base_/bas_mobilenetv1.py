# BAS with MobileNetV1 (spec section 1.3): block 6 at stride 1; blocks 0-11
# give the tap F_tap (512 x 28 x 28 at 224), blocks 12-13 the late stage
# (1024 x 14 x 14). Values for CUB (BAS-Extension).
# mmpretrain has no ImageNet MobileNetV1: the backbone starts from xavier
# init unless ImageNet weights are converted to mmwsl.MobileNetV1 names
# (the reference used mobilenet_v1_with_relu_69_5.pth) and set here as
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
model = dict(
    type='mmwsl.BAS',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmwsl.MobileNetV1',
        strides=(2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1),
    ),
    tap='layers.11',
    late_pool=None,
    head=dict(
        type='mmwsl.BASHead',
        num_classes=200,
        in_channels=1024,
        tap_channels=512,
        mid_channels=(1024, 1024),
        final_relu=False,
        loss_fg=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=0.5),
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=1.0),
        loss_area=dict(type='mmwsl.AreaLoss', loss_weight=1.9),
        cam_topk=80,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
    test_cfg=dict(resize_mode='bilinear', normalize_first=True, eps=1e-5),
)
