# HFPL add-on on the multi-label CAM baseline, COCO14: as VOC12 but with the
# feature-similarity loss weighted 0.2 (HFPL's COCO setting).
_base_ = ['../wsss/cam_resnet50_coco14.py']

model = dict(
    type='mmwsl.HFPLCAMClassifier',
    head=dict(
        type='mmwsl.HFPLHead',
        pooling='importance_sampling',
        is_weight=0.2,
        is_loss=dict(
            type='mmwsl.ImportanceSamplingLoss',
            num_samples=10,
            posterior='binomial',
        ),
        aux_losses=[
            dict(
                type='mmwsl.FeatureSimilarityLoss',
                mu=2.5,
                sigma=5.0,
                impl='auto',
                loss_weight=0.2,
            )
        ],
    ),
)
