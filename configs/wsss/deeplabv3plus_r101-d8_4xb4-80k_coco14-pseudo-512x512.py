# MMSeg's DeepLabV3+ R101 recipe on COCO 2014 (81 classes: background + 80)
# trained on CAM pseudo-labels of train2014 from
#   python tools/generate_pseudo_labels.py configs/wsss/cam_resnet50_coco14.py
#       CKPT --out work_dirs/cam_resnet50_coco14/pseudo_labels
# and validated on val2014 masks rendered from the instances by
# tools/dataset_converters/prepare_coco14.py. 80k iterations (HFPL trains
# its COCO segmentor for 200k). Runs with mmwsl's and MMSeg's tools.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]
custom_imports = dict(imports=['mmwsl'], allow_failed_imports=False)
custom_hooks = [dict(type='mmwsl.SafeCheckpointHook')]

coco_root = 'data/coco'
pseudo_label_root = 'work_dirs/cam_resnet50_coco14/pseudo_labels'
num_classes = 81
model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
)

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmwsl.COCO14SegDataset',
        data_root='',
        data_prefix=dict(
            img_path=coco_root + '/train2014',
            seg_map_path=pseudo_label_root + '/ann_dir',
        ),
        ann_file=pseudo_label_root + '/splits/train2014.txt',
        pipeline={{_base_.train_pipeline}},
    )
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmwsl.COCO14SegDataset',
        data_root=coco_root,
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'
        ),
        ann_file='ImageSets/val2014.txt',
        pipeline={{_base_.test_pipeline}},
    )
)
test_dataloader = val_dataloader

param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False,
    )
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=8000))
