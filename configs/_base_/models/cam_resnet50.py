# CAM baseline: ImageNet-pretrained ResNet-50 at output stride 16 (layer4
# stride 1: 14x14 maps at 224 px), GAP + linear classifier, CAM from the
# classifier weights (wsolevaluation rule: GT-class map, bicubic upsampling,
# min-max normalisation).
model = dict(
    type='mmwsl.WSOLClassifier',
    data_preprocessor=dict(
        num_classes=1000,
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
    head=dict(type='mmwsl.CAMHead', num_classes=1000, in_channels=2048),
    test_cfg=dict(resize_mode='bicubic', normalize_first=False),
)

# The new classifier learns 10x faster than the pretrained backbone.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
