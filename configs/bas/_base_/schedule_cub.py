# BAS-Extension CUB schedule (spec sections 3.1-3.2, quirk 12): SGD with
# Nesterov momentum 0.9, weight decay 5e-4, base lr 1e-3 on one GPU with
# batch 32; 120 epochs (the CLI default that runs), lr x0.1 from epoch 80.
# Parameter groups as in the reference optimizer: backbone weights lr,
# backbone biases (BN shifts included) 2 lr, head and generator weights
# 10 lr, their biases 20 lr. The longest matching key wins.
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
    dict(type='MultiStepLR', by_epoch=True, milestones=[80], gamma=0.1)
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# Reference batch: 32 images on 1 GPU.
auto_scale_lr = dict(base_batch_size=32)
