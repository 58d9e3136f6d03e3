# C²AM with the half-width ResNet-18 (output stride 16) of the CAM baseline
# (configs/cam/cam_resnet18_synthetic.py), on the same synthetic dataset and
# budget (8 epochs of 600 images, batch 32), for a like-for-like comparison
# of the localization maps. Training ignores the class labels; evaluation
# uses the same WSOLMetric (MaxBoxAccV2, GT-known Loc at 0.1, PxAP).
# Trains from scratch in a few minutes on 2 CPU cores.
_base_ = [
    '../_base_/datasets/synthetic_wsol.py',
    '../_base_/schedules/synthetic_sgd_8e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='mmwsl.C2AM',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        out_indices=(2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
    ),
    head=dict(
        type='mmwsl.C2AMHead',
        in_channels=256 + 128,  # layer4 + layer3
        loss=dict(type='mmwsl.C2AMContrastiveLoss', alpha=0.25),
    ),
)

custom_hooks = [
    dict(type='mmwsl.SafeCheckpointHook'),
    # 8x8 maps: the whole batch, continuous, 1-pixel border, checked at the
    # last iteration of the first epoch.
    dict(type='mmwsl.C2AMPolarityHook', variant='wsss', border=1),
]

# tools/c2am_pseudo_boxes.py: the test images are not resized (128x128).
pseudo_box_cfg = dict(resize=(128, 128))
