# ADL on the synthetic dataset: the CAM baseline (cam_resnet18_synthetic.py:
# half-width ResNet-18 at output stride 16, GAP + linear head, same data and
# schedule) with ADL (drop rate 0.75, gamma 0.9) after layer3 block 0,
# layer4 block 0 and the last block of layer4, the ResNet-50 positions of
# wsolevaluation mapped onto ResNet-18's two-block stages.
_base_ = ['../cam/cam_resnet18_synthetic.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsl.ADLBackbone',
        backbone={{_base_.model.backbone}},
        insert_after=[('layer3', 0), ('layer4', 0), ('layer4', 1)],
        drop_rate=0.75,
        gamma=0.9,
    ))
