# BAS-Extension OpenImages schedule (spec section 3.2, quirks 12-13): SGD
# with Nesterov momentum 0.9, weight decay 5e-4, base lr 1e-3, batch 64 on
# one GPU. The intended 50 epochs are never applied (the hyperparameter file
# sets `args.epoch`): the run lasts the CLI default of 120 epochs, and the
# step schedule (decay_epoch 20) multiplies the lr by 0.1 at every multiple
# of 20. Parameter groups as in schedule_cub.py.
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
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[20, 40, 60, 80, 100],
        gamma=0.1,
    )
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
