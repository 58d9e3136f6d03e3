# BAS with InceptionV3 (spec section 1.4): padded stem, Mixed_6a at stride
# 1, padded Mixed_7a; Mixed_6e is the tap F_tap (768 x 28 x 28 at 224),
# Mixed_7a-7c the late stage (2048 x 14 x 14). ImageNet mean/std input, no
# torchvision transform_input. Values for CUB (BAS-Extension).
model = dict(
    type='mmwsl.BAS',
    data_preprocessor=dict(
        num_classes=200,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmwsl.WSOLInceptionV3',
        # Converted from torchvision's Google weights; AuxLogits/fc unused.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/inception-v3/inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth',
            prefix='backbone.',
        ),
    ),
    tap='Mixed_6e',
    late_pool=None,
    head=dict(
        type='mmwsl.BASHead',
        num_classes=200,
        in_channels=2048,
        tap_channels=768,
        mid_channels=(1024, 1024),
        final_relu=False,
        loss_fg=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=0.5),
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=1.0),
        loss_area=dict(type='mmwsl.AreaLoss', loss_weight=1.0),
        cam_topk=200,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
    test_cfg=dict(resize_mode='bilinear', normalize_first=True, eps=1e-5),
)
