# Copyright (c) mmwsl contributors. All rights reserved.
from .bas_loss import (
    AreaLoss,
    BackgroundActivationLoss,
    PositiveNegativeSoftmaxLoss,
    area_loss,
    background_activation_loss,
    positive_negative_softmax_loss,
)
from .c2am_loss import (
    C2AMContrastiveLoss,
    c2am_contrastive_loss,
    c2am_negative_loss,
    c2am_positive_loss,
    clamped_cosine_similarity,
    rank_weights,
)
from .hfpl_loss import (
    FeatureSimilarityLoss,
    ImportanceSamplingLoss,
    feature_similarity_loss,
    hfpl_probs,
    image_to_grid,
    importance_sampling_loss,
    max_norm,
    multinomial_importance_sampling_loss,
    probs_to_logits,
)
from .irn_loss import IRNAffinityLoss, affinity_labels
from .sigmoid_mse_loss import SigmoidMSELoss, sigmoid_mse_loss
