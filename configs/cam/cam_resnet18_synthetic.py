# CAM baseline (GAP + linear classifier, CAM from the classifier weights)
# with a half-width ResNet-18 at output stride 16, on the synthetic dataset.
# Trains and evaluates in a few minutes on 2 CPU cores.
_base_ = [
    '../_base_/datasets/synthetic_wsol.py',
    '../_base_/schedules/synthetic_sgd_8e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='mmwsl.WSOLClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
    ),
    head=dict(
        type='mmwsl.CAMHead',
        num_classes={{_base_.num_classes}},
        in_channels=256,
        cal_acc=True,
    ),
)
