# BAS-Extension ILSVRC schedule (spec section 3.2, quirk 14): SGD with
# Nesterov momentum 0.9, weight decay 5e-4, base lr 1e-3 for a global batch
# of 128 (4 GPUs x 32; VGG16: 256), DDP with SyncBN; 9 epochs, lr x0.1 at
# epochs 3 and 6 (the hard-coded decay_epoch=3). Parameter groups as in
# schedule_cub.py.
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.001, momentum=0.9, nesterov=True, weight_decay=5e-4
    ),
    paramwise_cfg=dict(
        custom_keys={
            'head.classifier.0.bias': dict(lr_mult=20.0),
            'head.classifier.2.bias': dict(lr_mult=20.0),
            'head.classifier.4.bias': dict(lr_mult=20.0),
            'head.generator.bias': dict(lr_mult=20.0),
            'head': dict(lr_mult=10.0),
            '.bias': dict(lr_mult=2.0),
        }
    ),
)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[3, 6], gamma=0.1)
]
train_cfg = dict(by_epoch=True, max_epochs=9, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# BatchNorm statistics synchronised across GPUs in distributed runs.
sync_bn = 'torch'
auto_scale_lr = dict(base_batch_size=128)
