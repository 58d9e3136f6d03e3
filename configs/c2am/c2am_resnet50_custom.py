# C²AM on your own folder of unlabeled images (the reference CUSTOM/
# recipe, e.g. Market-1501 `bounding_box_train/`): MoCo v2 initialisation,
# batch 128, alpha 0.25, lr 1e-3, 10 epochs, seed 0.
#
#   python tools/train.py configs/c2am/c2am_resnet50_custom.py \
#       --cfg-options train_dataloader.dataset.data_root=PATH/TO/IMAGES
#
# Every image file of the folder is used (.jpg, .png, ...); another file in
# it is an error that names the file (set skip_non_images=True to ignore
# such files), and a corrupt image is named when it is loaded (verify=True
# decodes all of them up front). Set the input size to your data in
# `image_scale` (w, h): the reference resizes to 256 x 128 (h x w) without
# cropping, so the maps are 16 x 8. The polarity check runs at iteration
# 100 of the first epoch, as in the reference; with fewer iterations per
# epoch it never runs and the map stays inverted (set
# custom_hooks.1.iteration=None to check at the end of the epoch instead).
# Maps of new images: tools/c2am_background_cues.py --images DIR
# --save-maps (multi-scale) or model(inputs, mode='predict') (c2am_map);
# boxes from a map: mmwsl.apis.c2am_wsol.c2am_boxes.
_base_ = ['./c2am_resnet50_voc12.py']

image_scale = (128, 256)  # (w, h)
train_pipeline = [
    dict(
        type='mmwsl.LoadImageWithCheck', color_type='color_ignore_orientation'
    ),
    dict(type='mmwsl.WSOLResize', scale=image_scale, backend='pillow'),
    dict(type='mmwsl.WSOLRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsl.PackWSOLInputs'),
]
train_dataloader = dict(
    batch_size=128,
    dataset=dict(
        _delete_=True,
        type='mmwsl.ImageFolderDataset',
        data_root='data/custom_images',
        pipeline=train_pipeline,
    ),
)
custom_hooks = [
    dict(type='mmwsl.SafeCheckpointHook'),
    dict(type='mmwsl.C2AMPolarityHook', variant='custom'),
]
