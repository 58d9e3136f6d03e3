# Top-1 / Top-5 Loc of C²AM on CUB: the class-agnostic box of a trained
# C²AM model (c2am_resnet50_cub.py) paired with the class of a separately
# trained classifier (here a 200-class ResNet-50, e.g. trained with
# mmpretrain's resnet50_8xb8_cub.py at 448 px). Evaluation only:
#   python tools/c2am_pair_checkpoint.py C2AM.pth CLASSIFIER.pth PAIR.pth
#   python tools/test.py configs/c2am/c2am_resnet50_cub_pair-classifier.py \
#       PAIR.pth
# (or set model.localizer_checkpoint / model.classifier_checkpoint and
# merge nothing).
#
# The metric follows the reference's final evaluation where it applies to
# a map: continuous IoU (no +1 pixel), IoU > 0.5 counted strictly, accuracy
# averaged per class first; the box is the largest contour of the map at
# the threshold (0.05 ... 0.95) with the best Top-1 + GT-known Loc.
# MaxBoxAccV2 is reported as well.
_base_ = ['./c2am_resnet50_cub.py']

data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)
model = dict(
    _delete_=True,
    type='mmwsl.C2AMWithClassifier',
    data_preprocessor=data_preprocessor,
    localizer=dict(
        type='mmwsl.C2AM',
        data_preprocessor=data_preprocessor,
        backbone=dict(
            type='mmpretrain.ResNet',
            depth=50,
            strides=(1, 2, 2, 1),
            out_indices=(2, 3),
        ),
        head=dict(
            type='mmwsl.C2AMHead', in_channels=2048 + 1024, in_index=(1, 0)
        ),
    ),
    classifier=dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='mmpretrain.ResNet', depth=50, num_stages=4, out_indices=(3,)
        ),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=200,
            in_channels=2048,
            loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        ),
    ),
    localizer_checkpoint=None,
    classifier_checkpoint=None,
    classifier_input_size=None,
)

val_evaluator = dict(
    type='mmwsl.WSOLMetric',
    loc_thresholds=[(i + 1) / 20 for i in range(19)],
    box_rule='wsolevaluation',
    pixel_offset=0,
    strict_iou=True,
    class_balanced=True,
)
test_evaluator = val_evaluator
