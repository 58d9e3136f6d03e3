# Optional second stage of the C²AM WSOL pipeline on CUB: a PSOL box
# regressor (ImageNet ResNet-50, GAP, Linear(2048, 512) -> ReLU ->
# Linear(512, 4) -> Sigmoid) trained on the C²AM pseudo boxes of the
# training images (reference WSOL/PSOL/training_CUB.py: lr 0.002 with the
# head at 2x, momentum 0.9, wd 1e-4, batch 64, 100 epochs, cosine decay per
# iteration, loss 50 * MSE of [x, y, w, h]).
#   1. python tools/c2am_pseudo_boxes.py configs/c2am/c2am_resnet50_cub.py \
#          C2AM.pth --out work_dirs/c2am_resnet50_cub/pseudo_boxes.json
#   2. python tools/train.py configs/c2am/psol_resnet50_cub.py
#   3. Top-1/Top-5 Loc: pair the regressor with a classifier, as in
#      c2am_resnet50_cub_pair-classifier.py with
#      model.localizer=<this model>.
# Test geometry as the reference PSOL inference: Resize (256, 256) ->
# CenterCrop 224, GT boxes clipped to the crop. The metric uses the
# reference's continuous IoU > 0.5 and per-class averaging; the predicted
# box is drawn as a binary map, so MaxBoxAccV2 and GT-known both measure
# that one box.
_base_ = [
    '../_base_/datasets/cub_wsol.py',
    '../_base_/default_runtime.py',
]

pseudo_boxes = 'work_dirs/c2am_resnet50_cub/pseudo_boxes.json'

model = dict(
    type='mmwsl.PSOLRegressor',
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        out_indices=(3,),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmwsl.PSOLHead', in_channels=2048, loss_weight=50.0),
)

load_image = {{_base_.load_image}}
train_pipeline = [
    load_image,
    dict(type='mmwsl.LoadPseudoBox'),
    dict(type='mmwsl.RandomResizedBoxCrop', size=224, scale=(0.2, 1.0)),
    dict(type='mmwsl.PSOLRandomFlip', prob=0.5),
    dict(type='mmwsl.PackPSOLTarget'),
    dict(type='mmwsl.PackWSOLInputs', algorithm_keys=('psol_target',)),
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        _delete_=True,
        type='mmwsl.PseudoBoxDataset',
        dataset=dict(
            type='mmwsl.CUBWSOLDataset',
            data_root='data/CUB_200_2011',
            split='train',
        ),
        pseudo_boxes=pseudo_boxes,
        pipeline=train_pipeline,
    ),
)

val_evaluator = dict(
    type='mmwsl.WSOLMetric',
    loc_thresholds=[0.5],
    box_rule='wsolevaluation',
    pixel_offset=0,
    strict_iou=True,
    class_balanced=True,
)
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=2.0)}),
)
param_scheduler = dict(
    type='CosineAnnealingLR',
    T_max=100,
    by_epoch=True,
    begin=0,
    end=100,
    convert_to_iter_based=True,
)
# The reference trains without validation on CUB.
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=100)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2)
)
