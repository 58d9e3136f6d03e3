# IRN (boundary + displacement branches, specs/bas.md 5.3) on the synthetic
# WSSS dataset: trains in a few CPU minutes. The training set is the IR
# label folder written by tools/irn/make_ir_labels.py from the CAM seeds of
# configs/wsss/cam_resnet18_synthetic-wsss.py; see configs/irn/README.md.
#
# The synthetic data has no ImageNet-pretrained backbone, so the frozen
# backbone is the half-width ResNet-18 of the CAM classifier that made the
# seeds, loaded from its checkpoint (``cam_checkpoint``, keys under
# ``backbone.``). Override it with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Deviations from IRN (ResNet-50 at 512 crops, radius 10 on a 128 x 128
# grid, batch 32): the 128 px images give a 32 x 32 grid, so the pair radius
# is 5; the head is narrower (16 boundary channels per stage, displacement
# widths 32/64/128) for the half-width backbone; batch 16 (IRN: 32).
_base_ = ['./_base_/irn_runtime.py']

data_root = 'data/synthetic_wsss'
ir_label_root = 'work_dirs/irn_resnet18_synthetic-wsss/ir_labels'
cam_checkpoint = 'work_dirs/cam_resnet18_synthetic-wsss/epoch_6.pth'
class_names = ('background', 'class0', 'class1', 'class2', 'class3')
crop_size = (128, 128)

model = dict(
    type='mmwsl.InterPixelRelationNet',
    data_preprocessor=dict(
        type='mmseg.SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size=crop_size,
        pad_val=0,
        seg_pad_val=255,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        out_indices=(3,),
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=cam_checkpoint, prefix='backbone.'
        ),
    ),
    head=dict(
        type='mmwsl.IRNHead',
        in_channels=(32, 32, 64, 128, 256),
        edge_channels=16,
        dp_channels=(32, 64, 128),
    ),
    loss=dict(type='mmwsl.IRNAffinityLoss', radius=5),
    test_pad_size=crop_size,
)

train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmseg.LoadAnnotations'),
    dict(type='mmwsl.RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.RandomCrop', crop_size=crop_size),
    dict(type='mmseg.PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='mmseg.BaseSegDataset',
        data_root='',
        data_prefix=dict(
            img_path=data_root + '/images/train',
            seg_map_path=ir_label_root + '/ann_dir',
        ),
        ann_file=ir_label_root + '/splits/train.txt',
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        metainfo=dict(classes=class_names),
        pipeline=train_pipeline,
    ),
)

# 3 epochs of 38 iterations (IRN: 3 epochs of 330 on VOC): the schedule
# of _base_/irn_runtime.py.
