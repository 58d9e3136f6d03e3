# IRN on the synthetic WSSS dataset at twice the input scale: the images
# (and their IR labels) are enlarged 2x before the network, in training
# (random rescale 1.0-3.0 = 2 x IRN's 0.5-1.5, 256 crops) and in the random
# walk (``random_walk_cfg.scale``, tools/irn/random_walk.py --scale). The
# boundary map keeps stride 4 of the network input, i.e. 2 px of the
# original 128 px image: a 64 x 64 walk grid instead of 32 x 32, so the
# boundary cells that the walk cannot fill are half as wide around the
# 20-50 px objects. On the 64 x 64 grid training uses IRN's pair radius 10
# (the walk keeps 5). IRN itself is unchanged (frozen backbone, beta 10,
# 2^8 steps); see configs/irn/README.md.
_base_ = ['./irn_resnet18_synthetic-wsss.py']

crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    loss=dict(radius=10),
    test_pad_size=crop_size,
)
train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmseg.LoadAnnotations'),
    dict(type='mmwsl.RandomRescale', ratio_range=(1.0, 3.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.RandomCrop', crop_size=crop_size),
    dict(type='mmseg.PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# Random walk on the 2x-enlarged image; seeds are enlarged bilinearly to
# the same size, the walk's maps are taken back to the image size.
random_walk_cfg = dict(scale=2.0)
