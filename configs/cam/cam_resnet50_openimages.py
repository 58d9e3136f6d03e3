# CAM baseline with ResNet-50 on OpenImages30k (10 epochs, batch 32),
# evaluated with PxAP on the instance masks.
_base_ = [
    '../_base_/models/cam_resnet50.py',
    '../_base_/datasets/openimages_wsol.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor=dict(num_classes=100),
             head=dict(num_classes=100))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[3],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
