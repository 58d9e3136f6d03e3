# Copyright (c) mmwsl contributors. All rights reserved.
"""BAS for WSSS (``mmwsl.MultiLabelBAS`` + ``mmwsl.MultiLabelBASHead``):
the loss terms against a direct transcription of the reference forward
(spec 1.5, 2.3-2.6), the WSSS numeric cases (spec 7.2), the gradient flow
table (spec 2.7), the random class choice and the inference outputs."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsl.apis.pseudo_label import multiscale_cams
from mmwsl.models.heads import choose_positive_classes
from mmwsl.registry import MODELS

NUM_CLASSES = 4


def small_model(**head_kwargs):
    """The synthetic config's model: half-width ResNet-18, output stride
    16, tap after layer3 (128 channels), layer4 the late stage (256)."""
    head = dict(
        type='mmwsl.MultiLabelBASHead',
        num_classes=NUM_CLASSES,
        in_channels=256,
        tap_channels=128,
    )
    head.update(head_kwargs)
    model = MODELS.build(
        dict(
            type='mmwsl.MultiLabelBAS',
            data_preprocessor=dict(
                num_classes=NUM_CLASSES,
                to_onehot=True,
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True,
            ),
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                stem_channels=32,
                base_channels=32,
                strides=(1, 2, 2, 1),
            ),
            tap='layer3',
            late_pool=None,
            head=head,
        )
    )
    model.init_weights()
    return model


def samples_of(label_lists):
    return [
        DataSample(metainfo=dict(num_classes=NUM_CLASSES)).set_gt_label(
            labels
        )
        for labels in label_lists
    ]


LABELS = [[0, 2], [1], [1, 2, 3], [3]]


def reference_losses(model, inputs, targets, classes):
    """The reference WSSS forward (``net/resnet50_bas.py`` as the spec
    describes it): deep copies of layer4 and h for the erased branch,
    detached class maps in the foreground logits, L_bas with ReLU and
    masked ratio 1, mean area; L_mcls per image as a (|pos|) x (1 +
    |neg|) cross-entropy with target 0 times |pos| / B."""
    backbone, head = model.backbone, model.head
    tap = model.forward_lower(inputs)
    cams = head.classifier(backbone.layer4(tap))
    score = cams.mean((2, 3))
    maps = torch.sigmoid(head.generator(tap))
    batch = len(classes)
    fg = torch.stack([maps[i, classes[i]] for i in range(batch)])[:, None]
    layer4_copy = copy.deepcopy(backbone.layer4)
    head_copy = copy.deepcopy(head.classifier)
    erased = head_copy(layer4_copy(tap.detach() * (1 - fg))).mean((2, 3))
    s = torch.stack([score[i, classes[i]] for i in range(batch)])
    s_bg = torch.stack([erased[i, classes[i]] for i in range(batch)])
    s, s_bg = F.relu(s.detach()), F.relu(s_bg)
    bas = s_bg / (s + 1e-8)
    bas = torch.where(s_bg > s, torch.ones_like(bas), bas)
    score_2 = (cams.detach() * fg).mean((2, 3))
    mcls = 0
    for i in range(batch):
        pos = targets[i].nonzero().flatten()
        neg = (targets[i] == 0).nonzero().flatten()
        rows = torch.cat(
            [
                score[i, pos][:, None],
                score[i, neg][None].expand(len(pos), -1),
            ],
            1,
        )
        ce = F.cross_entropy(rows, torch.zeros(len(pos), dtype=torch.long))
        mcls = mcls + ce * len(pos) / batch
    return dict(
        loss_cls=mcls,
        loss_fg=0.2 * F.cross_entropy(score_2, classes),
        loss_bg=bas.mean(),
        loss_area=1.2 * fg.flatten(1).mean(1).mean(),
    )


def batch(seed=0, size=64):
    torch.manual_seed(seed)
    inputs = torch.randn(len(LABELS), 3, size, size)
    targets = torch.zeros(len(LABELS), NUM_CLASSES)
    for i, labels in enumerate(LABELS):
        targets[i, labels] = 1
    return inputs, targets


def test_loss_matches_reference_forward():
    torch.manual_seed(0)
    model = small_model()
    model.train()
    inputs, targets = batch()
    classes = torch.tensor([2, 1, 3, 3])
    feats = model.extract_feat(inputs)
    got = model.head.loss(
        feats,
        samples_of(LABELS),
        late_stage=model.forward_late_frozen,
        classes=classes,
    )
    ref = reference_losses(model, inputs, targets, classes)
    assert set(got) == {'loss_cls', 'loss_fg', 'loss_bg', 'loss_area'}
    for key in ref:
        assert got[key].item() == pytest.approx(
            float(ref[key]), rel=1e-5, abs=1e-6
        ), key
    # The model's loss mode gives the same named terms.
    losses = model(inputs, samples_of(LABELS), mode='loss')
    assert set(losses) == set(got)
    assert all(torch.isfinite(v) for v in losses.values())


def test_wsss_numeric_cases_through_the_head_loss():
    """L_mcls of spec 7.2 with the head's (config-built) loss module."""
    head = small_model().head
    logits = torch.zeros(2, 20)
    logits[0, 0] = 2
    labels = torch.zeros(2, 20)
    labels[0, :2] = 1
    labels[1, 5] = 1
    single = head.loss_module(logits[:1], labels[:1]).item()
    assert single == pytest.approx(4.178757, abs=1e-6)
    assert single == pytest.approx(
        math.log(1 + 18 * math.exp(-2)) + math.log(19), abs=1e-6
    )
    assert head.loss_module(logits, labels).item() == pytest.approx(
        3.587245, abs=1e-6
    )
    # The reference weights alpha = 0.2 and beta = 1.2, masked ratio 1.
    assert head.loss_fg.loss_weight == 0.2
    assert head.loss_area.loss_weight == 1.2
    assert head.loss_bg.masked_value == 1.0
    # L_bas as WSSS uses it (spec 7.2 A1-A3, c = 1).
    s = torch.tensor([2.0, 4.0, -1.0, 0.0])
    s_bg = torch.tensor([1.0, 5.0, 0.5, 0.0])
    assert head.loss_bg(s, s_bg).item() == pytest.approx(0.625, abs=1e-6)
    s_bg = torch.tensor([1.0, 5.0], requires_grad=True)
    head.loss_bg(torch.tensor([2.0, 4.0]), s_bg).backward()
    assert s_bg.grad.tolist() == pytest.approx([0.25, 0.0])


GROUPS = {
    'g': lambda m: m.head.generator,
    'f1': lambda m: m.backbone.layer3,
    'f2': lambda m: m.backbone.layer4,
    'h': lambda m: m.head.classifier,
}
# spec 2.7, WSSS rows (L_frg with detached class maps).
FLOW = {
    'loss_cls': {'f1', 'f2', 'h'},
    'loss_fg': {'g', 'f1'},
    'loss_bg': {'g', 'f1'},
    'loss_area': {'g', 'f1'},
}


def test_gradient_flow_table():
    torch.manual_seed(0)
    model = small_model()
    # Non-negative h so the chosen logits are positive and L_bas is not
    # masked (a masked ratio has no gradient, spec 7.1 item 4).
    with torch.no_grad():
        model.head.classifier[0].weight.abs_()
    model.train()
    inputs, _ = batch(seed=1)
    classes = torch.tensor([0, 1, 2, 3])
    for key, expected in FLOW.items():
        model.zero_grad(set_to_none=True)
        losses = model.head.loss(
            model.extract_feat(inputs),
            samples_of(LABELS),
            late_stage=model.forward_late_frozen,
            classes=classes,
        )
        if key == 'loss_bg':
            assert 0 < losses[key].item() < 1, 'ratio masked'
        losses[key].backward()
        reached = set()
        for name, get in GROUPS.items():
            grads = [p.grad for p in get(model).parameters()]
            if any(g is not None and g.abs().sum() > 0 for g in grads):
                reached.add(name)
        assert reached == expected, key


def test_background_branch_keeps_running_stats():
    """The erased pass uses its own batch statistics and leaves the real
    running statistics as one plain forward leaves them."""
    torch.manual_seed(0)
    model = small_model()
    twin = copy.deepcopy(model)
    model.train()
    twin.train()
    inputs, _ = batch()
    model(inputs, samples_of(LABELS), mode='loss')
    with torch.no_grad():
        twin(inputs, mode='tensor')
    for (name, a), b in zip(
        model.backbone.named_buffers(), twin.backbone.buffers()
    ):
        assert torch.equal(a, b), name


def test_random_class_choice():
    targets = torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 0], [0, 1, 1, 1]])
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack(
        [choose_positive_classes(targets, gen) for _ in range(3000)]
    )
    assert (targets.gather(1, draws.T) > 0).all()
    assert (draws[:, 1] == 1).all()
    # Uniform over the positives: 1/2 and 1/3.
    assert (draws[:, 0] == 0).float().mean().item() == pytest.approx(
        0.5, abs=0.04
    )
    for k in (1, 2, 3):
        assert (draws[:, 2] == k).float().mean().item() == pytest.approx(
            1 / 3, abs=0.04
        )
    # Seeded: the same draws again.
    a = choose_positive_classes(targets, torch.Generator().manual_seed(5))
    b = choose_positive_classes(targets, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r'Images \[1\]'):
        choose_positive_classes(torch.tensor([[1.0, 0], [0, 0]]))


def test_choice_seed_makes_losses_reproducible():
    inputs, _ = batch()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = small_model(choice_seed=7)
        model.train()
        torch.manual_seed(123)  # the global generator does not matter
        runs.append(
            [
                {
                    k: v.item()
                    for k, v in model(
                        inputs, samples_of(LABELS), mode='loss'
                    ).items()
                }
                for _ in range(3)
            ]
        )
    assert runs[0] == runs[1]


def test_bad_inputs():
    model = small_model()
    inputs, _ = batch()
    feats = model.extract_feat(inputs)
    with pytest.raises(TypeError, match='late stage'):
        model.head.loss(feats, samples_of(LABELS))
    with pytest.raises(ValueError, match='no positive class'):
        model(inputs, samples_of([[0], [], [1], [2]]), mode='loss')
    with pytest.raises(ValueError, match='one positive class per image'):
        model.head.loss(
            feats,
            samples_of(LABELS),
            late_stage=model.forward_late_frozen,
            classes=torch.tensor([1, 1, 1, 3]),
        )
    with pytest.raises(ValueError, match='out of range'):
        model(inputs, samples_of([[0], [4], [1], [2]]), mode='loss')


def test_tensor_and_predict_outputs():
    torch.manual_seed(0)
    model = small_model(thr=0.5).eval()
    inputs = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        out = model(inputs, mode='tensor')
        preds = model(inputs, samples_of([[0], [1, 2]])[:2], mode='predict')
    assert set(out) == {'cls_score', 'fg_map', 'cams'}
    assert out['cls_score'].shape == (2, NUM_CLASSES)
    assert out['fg_map'].shape == (2, NUM_CLASSES, 4, 6)
    assert out['cams'].shape == (2, NUM_CLASSES, 4, 6)
    assert model.num_classes == NUM_CLASSES
    for pred, score, maps in zip(preds, out['cls_score'], out['fg_map']):
        assert torch.allclose(pred.pred_score, score.sigmoid())
        assert pred.pred_label.tolist() == (
            (score.sigmoid() >= 0.5).nonzero().flatten().tolist()
        )
        assert pred.fg_map.shape == (NUM_CLASSES, 64, 96)
        assert 0 < pred.fg_map.min() <= pred.fg_map.max() < 1
        ref = F.interpolate(
            maps[None], (64, 96), mode='bilinear', align_corners=False
        )[0]
        assert torch.allclose(pred.fg_map, ref)


def test_seed_maps_are_the_reference_inference():
    """``multiscale_cams(cam_key='fg_map')`` at one scale is the reference
    inference ``M[0] + M[1].flip(-1)`` upsampled to ceil16 and cropped."""
    torch.manual_seed(0)
    model = small_model().eval()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    got = multiscale_cams(model, [image], scales=(1.0,), cam_key='fg_map')
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(image).permute(2, 0, 1)]), False
    )
    x = data['inputs']
    with torch.no_grad():
        maps = model(torch.cat([x, x.flip(-1)]), mode='tensor')['fg_map']
    ref = maps[0] + maps[1].flip(-1)
    assert ref.shape == (NUM_CLASSES, 4, 5)
    ref = F.interpolate(
        ref[None], (64, 80), mode='bilinear', align_corners=False
    )[..., :50, :70]
    assert got.shape == (1, NUM_CLASSES, 50, 70)
    assert torch.allclose(got, ref, atol=1e-6)
