# IRN on PASCAL VOC 2012 train_aug (specs/bas.md 5.3, IRN's train_irn.py):
# frozen ImageNet ResNet-50 (strides 1, 2, 2, 1, BN frozen), boundary and
# displacement branches trained on the IR labels of the seeds with pairs
# within radius 10 on the stride-4 grid; random rescale 0.5-1.5, flip,
# random 512 x 512 crop (padded with 0 after normalisation and 255 labels),
# batch 32, 3 epochs, lr 0.1 / 1.0, wd 1e-4, poly. See configs/irn/README.md
# for the whole sequence (seeds -> IR labels -> IRN -> random walk).
_base_ = ['./_base_/irn_runtime.py']

data_root = 'data/VOCdevkit/VOC2012'
# Written by tools/irn/make_ir_labels.py SEEDS --out IR_DIR --split train_aug
ir_label_root = 'work_dirs/irn_resnet50_voc12/ir_labels'
crop_size = (512, 512)
class_names = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'
)

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
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(3,),
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    head=dict(
        type='mmwsl.IRNHead',
        in_channels=(64, 256, 512, 1024, 2048),
        edge_channels=32,
        dp_channels=(64, 128, 256),
    ),
    loss=dict(type='mmwsl.IRNAffinityLoss', radius=10),
    # IRN's EdgeDisplacement pads every test image to its crop size.
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
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='mmseg.BaseSegDataset',
        data_root='',
        data_prefix=dict(
            img_path=data_root + '/JPEGImages',
            seg_map_path=ir_label_root + '/ann_dir',
        ),
        ann_file=ir_label_root + '/splits/train_aug.txt',
        img_suffix='.jpg',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        metainfo=dict(classes=class_names),
        pipeline=train_pipeline,
    ),
)
