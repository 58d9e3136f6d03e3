# OpenImages30k for WSOL (PxAP on instance masks) in the wsolevaluation
# layout: a wsolevaluation checkout at data/wsolevaluation with its
# metadata/OpenImages/{train,val,test}/ and the images and masks under
# dataset/OpenImages/ (mask paths in localization.txt are relative to it).
# Check a download with
#   python tools/dataset_converters/check_wsol_dataset.py wsoleval \
#       data/wsolevaluation --dataset OpenImages --split val test
#
# Both BAS and wsolevaluation evaluate OpenImages on Resize (224, 224) with
# no crop; masks are resized with OpenCV nearest neighbour (1 = object,
# 0 = background, 255 = ignore). val = train-fullsup (25 images per class,
# for model and threshold selection), test = 50 images per class.
# The model's data_preprocessor does the normalisation.
dataset_type = 'mmwsl.WSOLEvalDataset'
data_root = 'data/wsolevaluation'
num_classes = 100

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
test_pipeline_wsoleval = [
    load_image,
    dict(type='mmwsl.LoadWSOLMask'),
    dict(type='mmwsl.WSOLResize', scale=(224, 224), backend='pillow'),
    pack_inputs,
]
# Same geometry in BAS (its count_pxap.py follows wsolevaluation).
test_pipeline_bas = test_pipeline_wsoleval
test_pipeline = test_pipeline_wsoleval

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        dataset_name='OpenImages',
        split='train',
        data_root=data_root,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        dataset_name='OpenImages',
        split='val',
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        dataset_name='OpenImages',
        split='test',
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)

val_evaluator = dict(type='mmwsl.WSOLMetric')
test_evaluator = val_evaluator
