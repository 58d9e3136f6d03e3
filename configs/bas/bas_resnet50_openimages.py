# BAS with ResNet-50 on OpenImages30k (PxAP), BAS-Extension recipe: 256x256
# resize, random 224 crop and flip for training, 224x224 resize for testing;
# batch 64 on one GPU; SGD lr 1e-3 (x2 biases, x10/x20 head); 120 epochs
# with lr x0.1 every 20 epochs (what the code runs, spec quirk 13); alpha
# 0.5, beta 1.5; localization map = ground-truth class map.
_base_ = [
    '../_base_/datasets/openimages_wsol.py',
    './_base_/bas_resnet50.py',
    './_base_/schedule_openimages.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(num_classes=100),
    head=dict(num_classes=100, cam_topk=1),
)

randomness = dict(seed=6)
