# ACoL with ResNet-50 on ILSVRC (wsolevaluation layout; val =
# train-fullsup, test = the ILSVRC 2012 validation images), wsolevaluation
# recipe (spec section 2): 256x256 resize, random 224 crop and flip for
# training, 224x224 resize for testing; batch 64; SGD lr 0.01 (new layers
# x10), x0.1 every 30 epochs, 40 epochs (wsolevaluation's config.py
# defaults; its ImageNet runs used tuned, shorter schedules that are not
# published in the code).
_base_ = [
    '../_base_/datasets/imagenet_wsol.py',
    './_base_/acol_resnet50.py',
    './_base_/online_erasing_schedule.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor=dict(num_classes=1000),
             head=dict(num_classes=1000))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
test_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
train_cfg = dict(val_interval=1)
