# Stock MMSeg DeepLabV3 (ResNet-50-D8, VOC12 aug, 20k iterations) trained
# on pseudo-labels with HFPL's feature-similarity loss added to its
# objective. Only two things change with respect to the MMSeg config: the
# segmentor type (an EncoderDecoder subclass registered in mmwsl, so its
# decode head's logits meet the input image) and the pseudo-label folder.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']

custom_imports = dict(imports=['mmwsl.models'], allow_failed_imports=False)

# The inherited model dict carries _scope_='mmseg': the backbone, heads and
# mmseg losses still resolve in mmseg; mmwsl parts need the 'mmwsl.' prefix.
model = dict(
    type='mmwsl.FSLEncoderDecoder',
    fsl=dict(
        type='mmwsl.FeatureSimilarityLoss',
        mu=2.5,
        sigma=5.0,  # cells of the 1/8 logit grid (64 x 64 for 512 crops)
        impl='auto',  # chunked above 64 MB per B x N x N tensor
        loss_weight=1.0,
    ),
)

# PNG pseudo-labels written by tools/generate_pseudo_labels.py (ann_dir/
# and splits/ of its --out folder) replace the VOC ground truth.
pseudo_label_root = 'work_dirs/pseudo_labels_voc12'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root='data/VOCdevkit/VOC2012',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='../../../' + pseudo_label_root + '/ann_dir',
        ),
        ann_file='../../../' + pseudo_label_root + '/splits/train_aug.txt',
        pipeline={{_base_.train_pipeline}},
    )
)
