# BAS for WSSS with ResNet-50 (BAS-Extension WSSS model and recipe, spec
# 1.5, 2.6, 3.2, 5.1; quirks 19-21). Dataset configs set num_classes, the
# data preprocessor and the loaders.
#
# Model: ResNet-50 with layer3 at stride 2 and layer4 at stride 1 (output
# stride 16); the tap is the layer3 output (1024 x 28 x 28 at 448 px) and
# layer4 the late stage, with no pooling in between; h is a bias-free 1x1
# conv 2048 -> K (no ReLU) and g a bias-free 3x3 conv 1024 -> K + sigmoid,
# both xavier-uniform. Backbone BN in training mode.
# Loss: L_mcls + 0.2 L_frg (class maps detached) + L_bas (masked ratio 1)
# + 1.2 L_ac, one random positive class per image for the foreground map.
model = dict(
    type='mmwsl.MultiLabelBAS',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    tap='layer3',
    late_pool=None,
    head=dict(
        type='mmwsl.MultiLabelBASHead',
        num_classes=20,
        in_channels=2048,
        tap_channels=1024,
        mid_channels=(),
        bias=False,
        loss=dict(type='mmwsl.PositiveNegativeSoftmaxLoss'),
        # alpha
        loss_fg=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=0.2),
        loss_bg=dict(type='mmwsl.BackgroundActivationLoss', masked_value=1.0),
        # beta
        loss_area=dict(type='mmwsl.AreaLoss', loss_weight=1.2),
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
)

# Bicubic resize to 512 x 512 (aspect ratio not kept, quirk 15), flip,
# random 448 x 448 crop.
bas_wsss_train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(
        type='Resize',
        scale=(512, 512),
        keep_ratio=False,
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.RandomCrop', crop_size=448),
    dict(type='mmpretrain.PackInputs'),
]

# IRN's PolyOptimizer as it behaves (quirk 19): the weight decay it passes
# positionally becomes SGD's momentum (1e-4); its groups' weight decay
# (1e-4) is the real one; only weights are optimised, so the BN shifts
# get lr 0 and no decay (the convs have no biases); h and g at 10x lr.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.005, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'head': dict(lr_mult=10.0),
            '.bias': dict(lr_mult=0.0, decay_mult=0.0),
        }
    ),
)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
# DDP with SyncBN as the reference (BN converted when distributed).
sync_bn = 'torch'
val_cfg = dict()
test_cfg = dict()

# Seeds (spec 5.2): tools/generate_pseudo_labels.py sums the sigmoid maps
# of all classes (cam_key 'fg_map') over the scales and flips, keeps the
# image's classes and divides each by its max + 1e-5. Combine them with a
# CAM's seeds with tools/combine_cams.py.
pseudo_label_cfg = dict(
    cam_key='fg_map',
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    output_stride=16,
    # Constant background score of the PNG labels; pick it with the sweep
    # of tools/analysis_tools/eval_pseudo_labels.py --sweep bas (0.20-0.44).
    bg_threshold=0.25,
)
