# MMSeg's DeepLabV3+ R101 VOC12-aug config, trained on CAM pseudo-labels:
# only the training annotations change (train_aug images, masks from
#   python tools/generate_pseudo_labels.py configs/wsss/cam_resnet50_voc12.py
#       CKPT --out work_dirs/cam_resnet50_voc12/pseudo_labels);
# validation stays on VOC val with the real masks. Runs with mmwsl's and
# MMSeg's tools/train.py. For another folder, override
# train_dataloader.dataset.data_prefix.seg_map_path and .ann_file.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]
# Importing mmwsl lets checkpoints load under torch>=2.6 (with
# SafeCheckpointHook), also with MMSeg's own tools.
custom_imports = dict(imports=['mmwsl'], allow_failed_imports=False)
custom_hooks = [dict(type='mmwsl.SafeCheckpointHook')]

voc_root = 'data/VOCdevkit/VOC2012'
pseudo_label_root = 'work_dirs/cam_resnet50_voc12/pseudo_labels'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root='',
        data_prefix=dict(
            img_path=voc_root + '/JPEGImages',
            seg_map_path=pseudo_label_root + '/ann_dir',
        ),
        ann_file=pseudo_label_root + '/splits/train_aug.txt',
        pipeline={{_base_.train_pipeline}},
    )
)
