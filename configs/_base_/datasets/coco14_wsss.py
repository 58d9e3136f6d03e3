# COCO 2014 for the CAM stage of WSSS (prepare it with
# tools/dataset_converters/prepare_coco14.py): multi-label training on
# train2014 (images with at least one object), validation (mAP) on val2014,
# pseudo-labels for train2014 scored against the rendered instance masks.
dataset_type = 'mmwsl.COCO14ClsDataset'
data_root = 'data/coco'
num_classes = 80

data_preprocessor = dict(
    num_classes=num_classes,
    to_onehot=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

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
        split='train2014',
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
        split='val2014',
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmpretrain.AveragePrecision'),
    dict(type='mmpretrain.MultiLabelMetric', thr=0.5),
]
test_evaluator = val_evaluator

pseudo_label_dataset = dict(
    type=dataset_type, data_root=data_root, split='train2014'
)
pseudo_label_gt_dir = data_root + '/SegmentationClass/train2014'
