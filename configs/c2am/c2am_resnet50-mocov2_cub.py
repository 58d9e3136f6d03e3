# C²AM on CUB-200-2011 with the unsupervised MoCo v2 initialisation of the
# reference (alpha 0.75). The reference loads `moco_r50_v2-e3b0c442.pth`
# (its 'state_dict', plain ResNet-50 key names) from the working directory;
# get it from the authors' download links and put it there, or pass its
# path with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# DetCo: the same with `detco_200ep.pth`.
_base_ = ['./c2am_resnet50_cub.py']

model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='moco_r50_v2-e3b0c442.pth')
    ),
    head=dict(loss=dict(alpha=0.75)),
)
