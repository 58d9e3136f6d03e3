# BAS with ResNet-50 on CUB-200-2011, BAS-Extension recipe: 256x256 resize,
# random 224 crop and flip; batch 32 on one GPU; SGD lr 1e-3 (x2 biases,
# x10/x20 head), 120 epochs, lr x0.1 at epoch 80; alpha 0.5, beta 1.5;
# localization map = mean of the top-200 class maps; boxes at CAM threshold
# 0.1 (BAS protocol).
_base_ = [
    '../_base_/datasets/cub_wsol.py',
    './_base_/bas_resnet50.py',
    './_base_/schedule_cub.py',
    '../_base_/default_runtime.py',
]

val_evaluator = dict(type='mmwsl.WSOLMetric', loc_thresholds=[0.1])
test_evaluator = val_evaluator

randomness = dict(seed=6)
