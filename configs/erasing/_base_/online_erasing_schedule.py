# wsolevaluation's config.py defaults for ACoL/ADL (and CAM): batch 64, 40
# epochs, lr x0.1 every 30 epochs; the optimizer (SGD, Nesterov momentum
# 0.9, weight decay 1e-4, lr 0.01, new layers x10) is set by the model base
# because its parameter groups depend on the architecture. wsolevaluation
# tuned lr, epochs and decay per run on train-fullsup; those values are not
# part of this recipe. The official ACoL code instead trains 60 epochs on
# CUB / 6 on ILSVRC at batch 20 with lr 1e-4 (weight decay 5e-4; biases
# x2, ACoL branches x10/x20).
param_scheduler = [
    dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.1)
]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
