# hfpl_cam_resnet18_synthetic-wsss.py with the pre-trained backbone and the
# schedule of configs/wsss/cam_resnet18-pre_synthetic-wsss.py (train
# configs/cam/cam_resnet18_synthetic.py first).
_base_ = ['./hfpl_cam_resnet18_synthetic-wsss.py']

pretrained = 'work_dirs/cam_resnet18_synthetic/epoch_8.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
