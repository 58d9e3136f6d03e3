# HFPL add-on on the synthetic multi-label CAM baseline (VOC settings:
# 0.8 GAP + 0.2 binomial IS with S = 10, feature similarity weight 1.0).
# The 128 x 128 images give an 8 x 8 CAM grid at output stride 16.
_base_ = ['../wsss/cam_resnet18_synthetic-wsss.py']

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
                loss_weight=1.0,
            )
        ],
    ),
)
