# BAS with InceptionV3 on ILSVRC (ImageNet-1k), BAS-Extension recipe: 256x256
# resize, random 224 crop and flip; 4 GPUs x 32 images (global batch 128),
# SyncBN; SGD lr 1e-3 (x2 biases, x10/x20 head), 9 epochs, lr x0.1 at
# epochs 3 and 6; alpha 1.0, beta 2.5; localization map = ground-truth class map;
# boxes at CAM threshold 0.25 (BAS protocol).
_base_ = [
    '../_base_/datasets/imagenet_wsol.py',
    './_base_/bas_inceptionv3.py',
    './_base_/schedule_ilsvrc.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(num_classes=1000),
    head=dict(
        num_classes=1000,
        loss_fg=dict(loss_weight=1.0),
        loss_area=dict(loss_weight=2.5),
        cam_topk=1,
    ),
)

train_dataloader = dict(batch_size=32)

val_evaluator = dict(type='mmwsl.WSOLMetric', loc_thresholds=[0.25])
test_evaluator = val_evaluator

randomness = dict(seed=0, diff_rank_seed=True)
