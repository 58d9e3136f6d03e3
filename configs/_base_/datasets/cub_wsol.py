# CUB-200-2011 for WSOL, read from the official archive layout:
# CUB_200_2011.tgz extracted to data/CUB_200_2011 (images.txt,
# image_class_labels.txt, train_test_split.txt, bounding_boxes.txt, images/).
# Check a download with
#   python tools/dataset_converters/check_wsol_dataset.py cub data/CUB_200_2011
#
# Evaluation protocols (pick one for val/test; BAS is the default):
#   test_pipeline_bas       Resize (256, 256) + CenterCrop 224, boxes shifted
#                           by 16 and clipped to [0, 223] (BAS)
#   test_pipeline_wsoleval  Resize (224, 224), boxes scaled (wsolevaluation)
# Switch in a derived config:
#   val_dataloader = dict(
#       dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
#   test_dataloader = val_dataloader
# or on the command line (the centre crop of a 224x224 image is the
# identity, so this is exactly the wsolevaluation geometry):
#   --cfg-options val_dataloader.dataset.pipeline.1.scale="(224,224)"
#                 test_dataloader.dataset.pipeline.1.scale="(224,224)"
# The model's data_preprocessor does the normalisation.
#
# Both protocols validate on the test split here (as BAS does). The
# wsolevaluation train-fullsup split (`val`, 1000 other images) exists only in
# the wsolevaluation layout; use it for model selection with
#   val_dataloader = dict(dataset=dict(
#       _delete_=True, type='mmwsl.WSOLEvalDataset', dataset_name='CUB',
#       split='val', data_root='data/wsolevaluation', test_mode=True,
#       pipeline={{_base_.test_pipeline_wsoleval}}))
dataset_type = 'mmwsl.CUBWSOLDataset'
data_root = 'data/CUB_200_2011'
num_classes = 200

# Images are decoded without EXIF rotation, as the reference code (PIL) and
# the annotations see them; resizing uses Pillow bilinear like torchvision.
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
        data_root=data_root,
        split='train',
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
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='mmwsl.WSOLMetric')
test_evaluator = val_evaluator
