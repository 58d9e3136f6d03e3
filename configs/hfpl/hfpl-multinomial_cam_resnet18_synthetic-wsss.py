# Multinomial variant (the earlier ICAM formulation, spec sections 2.4, 5):
# the pixel posterior is a softmax over a constant background logit (0) and
# the class logits, the gathered probabilities are mapped back to clipped
# logits, and the feature-similarity loss sees the softmax probabilities
# with d_y = ||delta||^2. The sample count, the GAP/IS mix and the loss
# weight stay those of the binomial config so that only the posterior
# differs (ICAM itself used S = 100, 0.2 GAP + 0.8 IS and weight 0.5).
_base_ = ['./hfpl_cam_resnet18_synthetic-wsss.py']

model = dict(
    head=dict(
        is_loss=dict(posterior='multinomial'),
        bg_logit=0.0,
        aux_probs='softmax',
        aux_losses=[
            dict(
                type='mmwsl.FeatureSimilarityLoss',
                mu=2.5,
                sigma=5.0,
                dy_scale=1.0,
                loss_weight=1.0,
            )
        ],
    ),
)
