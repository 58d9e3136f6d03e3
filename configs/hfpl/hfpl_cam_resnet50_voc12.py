# HFPL add-on (Jonnarth et al., WACV 2024) on the multi-label CAM baseline,
# VOC12: binomial importance-sampling pooling mixed with GAP (0.8 GAP +
# 0.2 IS, S = 10) and the feature-similarity loss (mu 2.5, sigma 5 grid
# cells, weight 1.0) on the CAM logits at the feature grid. Only the model
# type and the head change; training and pseudo-labels are the baseline's.
_base_ = ['../wsss/cam_resnet50_voc12.py']

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
                loss_weight=1.0,
            )
        ],
    ),
)
