# AE-PSL's segmentation stage (specs/erasing.md 1.9) on the synthetic WSSS
# dataset: the tiny DeepLabV3 of
# configs/wsss/deeplabv3_r18-d8_1xb8-400_synthetic-wsss-pseudo.py as
# mmwsl.PSLEncoderDecoder, trained on the AE pseudo-labels (loss_seg_ae), on
# its own prohibitive online labels (loss_seg_psl) and with a classification
# branch on the true image labels (loss_cls). Labels from
#   python tools/train_erasing.py configs/erasing/ae_resnet18_synthetic-wsss.py
#   python tools/ae_make_pseudo_labels.py work_dirs/ae_resnet18_synthetic-wsss \
#       --out work_dirs/ae_resnet18_synthetic-wsss/pseudo_labels \
#       --background cam --cam-threshold 0.1
_base_ = ['../wsss/deeplabv3_r18-d8_1xb8-400_synthetic-wsss-pseudo.py']

pseudo_label_root = 'work_dirs/ae_resnet18_synthetic-wsss/pseudo_labels'
data_root = 'data/synthetic_wsss'

model = dict(
    type='mmwsl.PSLEncoderDecoder',
    num_fg_classes=4,
    cls_in_channels=256,  # last stage of the half-width ResNet-18
    cls_loss=dict(type='mmwsl.SigmoidMSELoss', loss_weight=1.0),
    ae_weight=1.0,
    psl_weight=1.0,
    # J(P, S): cross-entropy averaged over the labelled pixels (255 ignored).
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

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # True image-level labels (not derived from the pseudo mask).
    dict(
        type='mmwsl.LoadImageLevelLabels',
        label_file=pseudo_label_root + '/image_labels.json',
        num_classes=4),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'reduce_zero_label', 'img_labels')),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path=data_root + '/images/train',
            seg_map_path=pseudo_label_root + '/ann_dir'),
        ann_file=pseudo_label_root + '/splits/train.txt',
        pipeline=train_pipeline))
