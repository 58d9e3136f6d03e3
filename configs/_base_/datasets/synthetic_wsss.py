# Built-in synthetic multi-label WSSS dataset (generated on first use, see
# mmwsl/datasets/synthetic.py): 4 classes, 128x128 images with 1-3 objects,
# image-level labels for training and per-pixel masks (0 = background,
# k + 1 = class k) for evaluating pseudo-labels and segmentors.
dataset_type = 'mmwsl.SyntheticWSSSDataset'
data_root = 'data/synthetic_wsss'
image_size = 128
num_classes = 4
class_names = ('class0', 'class1', 'class2', 'class3')

data_preprocessor = dict(
    num_classes=num_classes,
    to_onehot=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmpretrain.PackInputs'),
]

_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    num_classes=num_classes,
    image_size=image_size,
    num_samples=dict(train=600, test=200),
    seed=0,
)
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_dataset, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=50,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, split='test', pipeline=test_pipeline),
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='mmpretrain.AveragePrecision'),
    dict(type='mmpretrain.MultiLabelMetric', thr=0.5),
]
test_evaluator = val_evaluator

# CAM inference for pseudo-labels (tools/generate_pseudo_labels.py): the
# images to label (with their image-level labels) and the segmentation
# ground truth that tools/analysis_tools/eval_pseudo_labels.py scores them
# against.
pseudo_label_dataset = dict(**_dataset, split='train')
pseudo_label_gt_dir = data_root + '/masks/train'
