# ADL with ResNet-50 (wsolevaluation ResNetCam with ADL): layer4 at stride
# 1 (14x14 maps at 224); ADL (drop rate 0.75, gamma 0.9) after layer3
# block 0, layer4 block 0 and layer4 block 2 (the official ADL gating
# positions 31, 41 and 5); GAP + linear classifier, CAM from its weights.
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
        insert_after=[('layer3', 0), ('layer4', 0), ('layer4', 2)],
        drop_rate=0.75,
        gamma=0.9,
    ),
    head=dict(type='mmwsl.CAMHead', num_classes=200, in_channels=2048),
    test_cfg=dict(resize_mode='bicubic', normalize_first=False),
)

# SGD (Nesterov) lr 0.01, weight decay 1e-4; layer4 and the classifier at
# 10x (wsolevaluation's ResNet rule).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'layer4': dict(lr_mult=10.0),
        'head': dict(lr_mult=10.0),
    }),
)
