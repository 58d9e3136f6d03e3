# ACoL on the synthetic dataset: the CAM baseline's half-width ResNet-18 at
# output stride 16, schedule and data (cam_resnet18_synthetic.py), with the
# GAP classifier replaced by the two ACoL branches. The branches are 256
# wide (the references use 1024 on 2048/512-channel features) to keep the
# CPU budget of the baseline; delta 0.7 as wsolevaluation.
_base_ = ['../cam/cam_resnet18_synthetic.py']

model = dict(
    head=dict(
        _delete_=True,
        type='mmwsl.ACoLHead',
        num_classes={{_base_.num_classes}},
        in_channels=256,
        mid_channels=256,
        delta=0.7,
        cal_acc=True,
        # wsolevaluation initialises new ResNet layers with kaiming ("he").
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                      nonlinearity='relu', distribution='normal'),
    ))
