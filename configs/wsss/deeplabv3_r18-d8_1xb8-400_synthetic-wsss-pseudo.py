# A small DeepLabV3 (half-width ResNet-18-V1c, output stride 8) trained on
# the CAM pseudo-labels of the synthetic WSSS dataset and evaluated on its
# test split with MMSeg's IoUMetric. The pseudo-labels come from
#   python tools/generate_pseudo_labels.py \
#       configs/wsss/cam_resnet18_synthetic-wsss.py CKPT \
#       --out work_dirs/cam_resnet18_synthetic-wsss/pseudo_labels
# (another folder: override train_dataloader.dataset.data_prefix.seg_map_path
# and train_dataloader.dataset.ann_file). Runs with mmwsl's and with MMSeg's
# tools/train.py and tools/test.py.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
# Importing mmwsl makes checkpoints load under torch>=2.6 (see
# SafeCheckpointHook), also with MMSeg's own tools.
custom_imports = dict(imports=['mmwsl'], allow_failed_imports=False)
custom_hooks = [dict(type='mmwsl.SafeCheckpointHook')]

data_root = 'data/synthetic_wsss'
pseudo_label_root = 'work_dirs/cam_resnet18_synthetic-wsss/pseudo_labels'
num_classes = 5  # background + 4 synthetic classes
crop_size = (128, 128)

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg
    ),
    decode_head=dict(
        in_channels=256,
        channels=64,
        dilations=(1, 6, 12, 18),
        num_classes=num_classes,
        norm_cfg=norm_cfg,
    ),
    auxiliary_head=dict(
        in_channels=128,
        channels=32,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
    ),
)

metainfo = dict(classes=('background', 'class0', 'class1', 'class2', 'class3'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BaseSegDataset',
        metainfo=metainfo,
        data_root='',
        data_prefix=dict(
            img_path=data_root + '/images/train',
            seg_map_path=pseudo_label_root + '/ann_dir',
        ),
        ann_file=pseudo_label_root + '/splits/train.txt',
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BaseSegDataset',
        metainfo=metainfo,
        data_root=data_root,
        data_prefix=dict(img_path='images/test', seg_map_path='masks/test'),
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=400,
        by_epoch=False,
    )
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=400)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=400),
)
