# BAS for WSSS on the synthetic dataset as the real recipe trains it: the
# backbone starts from pre-trained weights (the synthetic WSOL classifier
# configs/cam/cam_resnet18_synthetic.py stands in for ImageNet; train it
# first) at 0.1x the lr of the new layers, output stride 8 (a 16 x 16 grid).
# The same budget as its CAM baseline,
# configs/wsss/cam_resnet18-d8-pre_synthetic-wsss.py.
#
# Generator lr and beta: each class has its own foreground map, trained only
# on the images where it is the drawn class. Early on the new classifier's
# score of a class is often <= 0 on all its images; L_bas then gives no
# gradient (ReLU(S) = 0) and the area term alone moves g, pushing the map
# down hardest where the tap features are strongest, on the object: the map
# inverts and saturates at 0 and does not recover (a map died in 5 of the 6
# runs with a faster generator or a larger beta). A generator at 0.05x (half
# the backbone's lr) with beta = 0.3 kept every class's map in both seeds
# (reference: 10x the backbone's lr, beta = 1.2). See configs/bas/README.md.
_base_ = [
    './bas_resnet18_synthetic-wsss.py',
    '../_base_/models/synthetic_pretrained.py',
]

model = dict(
    backbone=dict(
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 1, 2),
        init_cfg={{_base_.pretrained_init}}),
    head=dict(loss_area=dict(loss_weight=0.3)),
)
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'head.generator': dict(lr_mult=0.05),
        }))
pseudo_label_cfg = dict(output_stride=8)
