# AE-PSL's segmentation stage (specs/erasing.md 1.9) on PASCAL VOC 2012
# train_aug: MMSeg's DeepLabV3 R50-D8 (20k iterations, 512 crops) as
# mmwsl.PSLEncoderDecoder, trained on the AE pseudo-labels of
# configs/erasing/ae_resnet50_voc12.py (loss_seg_ae), on its prohibitive
# online labels (loss_seg_psl) and with a classification branch on the true
# image labels (loss_cls); evaluated on VOC val with the real masks.
#   python tools/ae_make_pseudo_labels.py work_dirs/ae_resnet50_voc12 \
#       --out work_dirs/ae_resnet50_voc12/pseudo_labels \
#       --saliency-dir SALIENCY --bg-threshold T
#   python tools/train.py configs/erasing/psl_deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py
# The paper's network is DeepLab-CRF-LargeFOV (VGG-16) trained 15 epochs with
# batch 30 and 321 crops (recalled, unconfirmed); MMSeg has no LargeFOV
# config, so this uses its DeepLabV3 R50 recipe. Dense CRF at inference is
# not applied.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['mmwsl'], allow_failed_imports=False)
custom_hooks = [dict(type='mmwsl.SafeCheckpointHook')]

voc_root = 'data/VOCdevkit/VOC2012'
pseudo_label_root = 'work_dirs/ae_resnet50_voc12/pseudo_labels'

model = dict(
    type='mmwsl.PSLEncoderDecoder',
    num_fg_classes=20,
    cls_in_channels=2048,
    cls_loss=dict(type='mmwsl.SigmoidMSELoss', loss_weight=1.0),
    ae_weight=1.0,
    psl_weight=1.0,
    decode_head=dict(
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    auxiliary_head=dict(
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            avg_non_ignore=True)),
)

crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='mmwsl.LoadImageLevelLabels',
        label_file=pseudo_label_root + '/image_labels.json',
        num_classes=20),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'reduce_zero_label', 'img_labels')),
]
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
        pipeline=train_pipeline,
    ))
