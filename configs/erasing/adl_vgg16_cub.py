# ADL with VGG-16 on CUB-200-2011, wsolevaluation recipe (spec
# section 2): 256x256 resize, random 224 crop and flip for training,
# 224x224 resize for testing; batch 64; SGD lr 0.01 (new layers x10),
# x0.1 every 30 epochs, 40 epochs; the last checkpoint is evaluated.
_base_ = [
    '../_base_/datasets/cub_wsol.py',
    './_base_/adl_vgg16.py',
    './_base_/online_erasing_schedule.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=64)
val_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline={{_base_.test_pipeline_wsoleval}}))
test_dataloader = val_dataloader
