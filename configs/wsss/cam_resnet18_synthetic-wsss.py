# Multi-label CAM classifier (the CAM stage of WSSS) with a half-width
# ResNet-18 at output stride 16 on the synthetic WSSS dataset. Trains in a
# couple of minutes on 2 CPU cores; see configs/wsss/README.md for the
# whole pipeline (pseudo-labels, their evaluation, a segmentor on them).
_base_ = [
    '../_base_/datasets/synthetic_wsss.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='mmwsl.MultiLabelCAMClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        out_indices=(3,),
        norm_cfg=dict(type='BN', requires_grad=True),
    ),
    head=dict(
        type='mmwsl.MultiLabelCAMHead',
        num_classes={{_base_.num_classes}},
        in_channels=256,
    ),
)

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True,
    ),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=6),
]
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=6)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=10),
    # The WSOL CAM overlays do not apply to multi-label outputs.
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False),
)
visualizer = dict(
    type='mmpretrain.UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
)

# Multi-scale CAM inference as in IRN/BAS make_cam (specs/bas.md 5.2).
pseudo_label_cfg = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    bg_threshold=0.25,
)
