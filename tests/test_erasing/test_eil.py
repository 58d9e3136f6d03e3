# Copyright (c) mmwsl contributors. All rights reserved.
"""EILClassifier (spec T12): erased copy at the split point, shared
layers after it, loss CE(unerased) + sigma * CE(erased)."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsl.models.layers import attention_drop_mask
from mmwsl.registry import MODELS

X = torch.stack([torch.tensor([[1., 2.], [3., 4.]]),
                 torch.tensor([[3., 2.], [1., 8.]])])[None]


def test_t12_erased_copy():
    # gamma 0.7: thr 4.2 on A = [[2, 2], [2, 6]].
    erased = X * attention_drop_mask(X, 0.7)
    assert erased[0, 0].tolist() == [[1., 2.], [3., 0.]]
    assert erased[0, 1].tolist() == [[3., 2.], [1., 0.]]


def _model(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='EILClassifier',
        backbone=dict(type='mmpretrain.VGG', depth=11, num_stages=3,
                      dilations=(1, 1, 1), with_last_pool=False,
                      out_indices=(2, )),
        head=dict(type='CAMHead', num_classes=3, in_channels=256),
        split='features.3', **kwargs))
    model.init_weights()
    return model


def _samples():
    return [DataSample().set_gt_label(i) for i in (0, 2)]


def test_layers_after_split_see_both_copies():
    model = _model(gamma=0.95)
    seen = {}
    model.backbone.features[3].register_forward_hook(
        lambda m, i, o: seen.setdefault('split_out', o.detach().clone()),
        prepend=True)
    model.backbone.features[4].register_forward_pre_hook(
        lambda m, args: seen.setdefault('next_in', args[0].detach()))
    inputs = torch.rand(2, 3, 32, 32)
    model.train()
    model.loss(inputs, _samples())
    out = seen['split_out']  # the module's own output, before the hook
    assert seen['next_in'].shape[0] == 4
    assert torch.equal(seen['next_in'][:2], out)
    mask = attention_drop_mask(out, 0.95)
    assert torch.equal(seen['next_in'][2:], out * mask)
    assert (mask == 0).any() and (mask == 1).any()


def test_loss_is_unerased_plus_sigma_erased():
    model = _model(sigma=0.5)
    inputs = torch.rand(2, 3, 32, 32)
    losses = model.loss(inputs, _samples())
    assert set(losses) == {'loss', 'loss_erased'}
    # Recompute both halves by hand through the same layers.
    feats = model.backbone.features[:4](inputs)
    erased = feats * attention_drop_mask(feats, model.gamma)
    labels = torch.tensor([0, 2])
    for x, key, w in ((feats, 'loss', 1.), (erased, 'loss_erased', .5)):
        logits = model.head((model.backbone.features[4:](x), ))
        assert losses[key].item() == pytest.approx(
            w * F.cross_entropy(logits, labels).item(), rel=1e-5)
    # No gradient through the mask: backward works, and a second loss
    # call without the flag leaves the batch size alone.
    (losses['loss'] + losses['loss_erased']).backward()
    assert model.extract_feat(inputs)[-1].shape[0] == 2


def test_predict_uses_the_unerased_path():
    model = _model()
    model.eval()
    inputs = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        samples = model.predict(inputs, _samples())
        plain = model.head.forward_tensor(model.extract_feat(inputs))
    assert samples[0].cam.shape == (32, 32)
    assert torch.allclose(samples[1].pred_score,
                          plain['cls_score'][1].softmax(0))


def test_bad_split():
    with pytest.raises(ValueError, match="'features.99' is not a submodule"):
        MODELS.build(dict(
            type='EILClassifier',
            backbone=dict(type='mmpretrain.VGG', depth=11, num_stages=3,
                          dilations=(1, 1, 1), out_indices=(2, )),
            head=dict(type='CAMHead', num_classes=3, in_channels=256),
            split='features.99'))
