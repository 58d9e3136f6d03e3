# ImageNet-1k (ILSVRC) for WSOL in the wsolevaluation layout: a wsolevaluation
# checkout at data/wsolevaluation with its metadata/ILSVRC/{train,val,test}/
# and the images under dataset/ILSVRC/ (train/<synset>/..., val2/... for the
# ImageNetV2 train-fullsup split, val/ILSVRC2012_val_*.JPEG for test).
# Check a download with
#   python tools/dataset_converters/check_wsol_dataset.py wsoleval \
#       data/wsolevaluation --dataset ILSVRC --split val test
#
# Images may carry several boxes; the metric takes the best-matching one.
# val = train-fullsup (ImageNetV2, 10 images per class, for model and
# threshold selection), test = the ILSVRC 2012 validation images.
#
# Evaluation protocols (pick one for val/test; BAS is the default):
#   test_pipeline_bas       Resize (256, 256) + CenterCrop 224 (BAS)
#   test_pipeline_wsoleval  Resize (224, 224)                 (wsolevaluation)
# Switch in a derived config:
#   val_dataloader = dict(
#       dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
#   test_dataloader = dict(
#       dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
# or with --cfg-options val_dataloader.dataset.pipeline.1.scale="(224,224)"
# test_dataloader.dataset.pipeline.1.scale="(224,224)" (the centre crop of a
# 224x224 image is the identity).
# The model's data_preprocessor does the normalisation.
dataset_type = 'mmwsl.WSOLEvalDataset'
data_root = 'data/wsolevaluation'
num_classes = 1000

load_image = dict(
    type='mmwsl.LoadImageWithCheck', color_type='color_ignore_orientation'
)
pack_inputs = dict(
    type='mmwsl.PackWSOLInputs',
    meta_keys=(
        'sample_idx',
        'img_path',
        'img_id',
        'ori_shape',
        'img_shape',
        'scale_factor',
        'flip',
        'flip_direction',
    ),
)

train_pipeline = [
    load_image,
    dict(type='mmwsl.WSOLResize', scale=(256, 256), backend='pillow'),
    dict(type='mmwsl.WSOLRandomCrop', crop_size=224),
    dict(type='mmwsl.WSOLRandomFlip', prob=0.5, direction='horizontal'),
    pack_inputs,
]
test_pipeline_bas = [
    load_image,
    dict(type='mmwsl.WSOLResize', scale=(256, 256), backend='pillow'),
    dict(type='mmwsl.WSOLCenterCrop', crop_size=224),
    pack_inputs,
]
test_pipeline_wsoleval = [
    load_image,
    dict(type='mmwsl.WSOLResize', scale=(224, 224), backend='pillow'),
    pack_inputs,
]
test_pipeline = test_pipeline_bas

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        dataset_name='ILSVRC',
        split='train',
        data_root=data_root,
        # 1.28M files: skip the existence check at start-up; the loader
        # still names any missing file.
        check_files=False,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        dataset_name='ILSVRC',
        split='val',
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        dataset_name='ILSVRC',
        split='test',
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)

val_evaluator = dict(type='mmwsl.WSOLMetric')
test_evaluator = val_evaluator
