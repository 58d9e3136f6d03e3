# Multi-label CAM classifier (IRN's ResNet-50 CAM): output stride 16, frozen
# BN, stem and first stage frozen, bias-free 1x1 classifier, multi-label
# soft-margin loss; 5 epochs, batch 16, lr 0.1 (classifier 10x), wd 1e-4,
# poly decay (specs/bas.md 5.1-5.2), on COCO 2014 (80 classes).
_base_ = [
    '../_base_/datasets/coco14_wsss.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='mmwsl.MultiLabelCAMClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(3,),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    head=dict(
        type='mmwsl.MultiLabelCAMHead',
        num_classes={{_base_.num_classes}},
        in_channels=2048,
    ),
)

# IRN's PolyOptimizer passes its weight decay as SGD momentum (1e-4), i.e.
# effectively no momentum (specs/bas.md 7, item 19).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head.classifier': dict(lr_mult=10.0)}),
)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=5)
val_cfg = dict()
test_cfg = dict()
# 16 images per iteration in total (e.g. 4 GPUs x 4 with dist_train.sh
# and train_dataloader.batch_size=4, or 1 x 16).
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False)
)
visualizer = dict(
    type='mmpretrain.UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
)

pseudo_label_cfg = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    output_stride=16,
    # Constant background score of the PNG labels; pick it with the sweep of
    # tools/analysis_tools/eval_pseudo_labels.py (BAS/IRN sweep 0.20-0.44).
    bg_threshold=0.25,
)
