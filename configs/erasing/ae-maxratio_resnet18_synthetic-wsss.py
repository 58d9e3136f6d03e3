# Adversarial erasing on the synthetic multi-label set with a region rule
# that follows the object's size: the top-20 % rule of the AE-PSL recipe
# (ae_resnet18_synthetic-wsss.py) erases a fifth of the image per class and
# round, about twice the size of these objects. Here the region is
# ReLU(CAM) >= 0.5 * max (the ADL/EIL-style rule of specs/erasing.md 1.4),
# the classifier is trained with the BCE of the CAM baseline
# (configs/wsss/cam_resnet18_synthetic-wsss.py) for 6 epochs per round on
# the same 200 images. Both are toolbox choices, not the paper's.
#   python tools/train_erasing.py \
#       configs/erasing/ae-maxratio_resnet18_synthetic-wsss.py
_base_ = ['./ae_resnet18_synthetic-wsss.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='mmpretrain.CrossEntropyLoss',
            use_sigmoid=True)))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True,
    ),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=6),
]
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=6)

adversarial_erasing = dict(
    policy=dict(mode='max_ratio', ratio=0.5, cmp='ge'))
