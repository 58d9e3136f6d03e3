# C²AM on PASCAL VOC 2012 train_aug (recipe of the reference
# WSSS/train_CCAM_VOC12.py with the README command: MoCo v2 initialisation,
# batch 128, alpha 0.25, lr 1e-3, 10 epochs, seed 0). Labels are not used,
# so the images are read as a plain list; train_aug.txt holds the 10,582
# ids. The maps then give background cues for WSSS:
#   python tools/c2am_background_cues.py configs/c2am/c2am_resnet50_voc12.py \
#       CHECKPOINT --out-dir work_dirs/c2am_voc12/cues \
#       --images data/VOCdevkit/VOC2012/JPEGImages \
#       --list data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt
#   python tools/c2am_refine_cams.py --cams CAM_DIR \
#       --cues work_dirs/c2am_voc12/cues \
#       --gt data/VOCdevkit/VOC2012/SegmentationClass \
#       --list data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt
#
# The reference warns against batches below 32 (the batch is the contrast
# set; gradient accumulation does not reproduce the method) and trained on
# one 40 GB A100. The MoCo v2 weights `moco_r50_v2-e3b0c442.pth` come from
# the authors' download links; put the file in the working directory or
# pass --cfg-options model.backbone.init_cfg.checkpoint=PATH.
# Optimizer quirks of the reference (momentum 1e-4, frozen BN affine
# parameters) as in c2am_resnet50_cub.py.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/VOCdevkit/VOC2012'

model = dict(
    type='mmwsl.C2AM',
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='moco_r50_v2-e3b0c442.pth'
        ),
    ),
    head=dict(
        type='mmwsl.C2AMHead',
        in_channels=2048 + 1024,
        in_index=(1, 0),
        loss=dict(type='mmwsl.C2AMContrastiveLoss', alpha=0.25),
    ),
)

train_pipeline = [
    dict(
        type='mmwsl.LoadImageWithCheck', color_type='color_ignore_orientation'
    ),
    dict(type='mmwsl.WSOLResize', scale=(512, 512), backend='pillow'),
    dict(type='mmwsl.WSOLRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsl.WSOLRandomCrop', crop_size=448),  # 28x28 maps
    dict(type='mmwsl.PackWSOLInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='mmwsl.ImageFolderDataset',
        data_root=data_root,
        data_prefix='JPEGImages',
        ann_file='ImageSets/Segmentation/train_aug.txt',
        suffix='.jpg',
        pipeline=train_pipeline,
    ),
)
# No boxes or masks to validate the class-agnostic map with during training.
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(lr_mult=0.0, decay_mult=0.0),
            'downsample.1': dict(lr_mult=0.0, decay_mult=0.0),
        }
    ),
)
# Poly 0.9 over max_epoch * len(train_loader) iterations (830 at batch 128).
param_scheduler = dict(
    type='PolyLR',
    power=0.9,
    eta_min=0.0,
    by_epoch=True,
    begin=0,
    end=10,
    convert_to_iter_based=True,
)
train_cfg = dict(by_epoch=True, max_epochs=10)

custom_hooks = [
    dict(type='mmwsl.SafeCheckpointHook'),
    # Last iteration of epoch 0, whole batch, continuous, 4-pixel strips.
    dict(type='mmwsl.C2AMPolarityHook', variant='wsss'),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1))
randomness = dict(seed=0)

# tools/c2am_background_cues.py: scales 0.5-2 with flips on the logits,
# threshold 0.3, 10 CRF iterations (WSSS/README.md). flip_rule='reference'
# applies a flipped polarity as relu(1 - z) (spec quirk 5); 'negate' uses
# relu(-z).
cue_cfg = dict(
    scales=(0.5, 1.0, 1.5, 2.0),
    threshold=0.3,
    crf_iterations=10,
    flip_rule='reference',
    stride=16,
)
