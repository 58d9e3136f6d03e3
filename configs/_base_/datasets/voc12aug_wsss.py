# PASCAL VOC 2012 + SBD for the CAM stage of WSSS (MMSeg layout; prepare it
# with tools/dataset_converters/prepare_voc12.py): multi-label training on
# train_aug (10,582 images), validation (mAP) on val (1,449), pseudo-labels
# for train_aug, scored on train (1,464, SegmentationClass GT).
dataset_type = 'mmwsl.VOC12ClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20

data_preprocessor = dict(
    num_classes=num_classes,
    to_onehot=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# IRN's CAM training augmentation: long side resized to [320, 640], flip,
# random 512 x 512 crop (padded when smaller).
train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(
        type='RandomResize',
        scale=(640, 640),
        ratio_range=(0.5, 1.0),
        keep_ratio=True,
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmpretrain.RandomCrop',
        crop_size=512,
        pad_if_needed=True,
        pad_val=0,
    ),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmpretrain.ResizeEdge', scale=512, edge='long'),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train_aug',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmpretrain.AveragePrecision'),
    dict(type='mmpretrain.MultiLabelMetric', thr=0.5),
]
test_evaluator = val_evaluator

# tools/generate_pseudo_labels.py labels these images; pass
# --split <data_root>/ImageSets/Segmentation/train.txt to
# tools/analysis_tools/eval_pseudo_labels.py to score the 1,464 train images.
pseudo_label_dataset = dict(
    type=dataset_type, data_root=data_root, split='train_aug'
)
pseudo_label_gt_dir = data_root + '/SegmentationClass'
