# BAS for WSSS on COCO 2014 (80 classes). The reference has no COCO training
# code (only image lists, spec 5.3); this config applies the VOC recipe
# (_base_/bas_resnet50_wsss.py: model, loss, optimiser; 10 epochs at 16
# images per iteration, 4 GPUs x 4) with a poly decay to 0 over the run
# instead of VOC's truncated horizon (an interpretation, see README).
_base_ = [
    '../_base_/datasets/coco14_wsss.py',
    '../_base_/default_runtime.py',
    './_base_/bas_resnet50_wsss.py',
]

model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    head=dict(num_classes={{_base_.num_classes}}),
)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    drop_last=True,
    dataset=dict(pipeline={{_base_.bas_wsss_train_pipeline}}),
)
auto_scale_lr = dict(base_batch_size=16)

param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True,
    ),
]
randomness = dict(seed=0, diff_rank_seed=True)

default_hooks = dict(
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False)
)
visualizer = dict(
    type='mmpretrain.UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
)
