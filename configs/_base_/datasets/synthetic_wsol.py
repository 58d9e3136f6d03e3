# Built-in synthetic WSOL dataset (generated on first use, see
# mmwsl/datasets/synthetic.py): 4 classes, 128x128 images, a large
# class-agnostic body and a small class-discriminative part per object.
dataset_type = 'mmwsl.SyntheticWSOLDataset'
data_root = 'data/synthetic_wsol'
image_size = 128
num_classes = 4

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmwsl.LoadWSOLMask'),
    dict(type='mmwsl.WSOLRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsl.PackWSOLInputs'),
]
test_pipeline = [
    dict(type='mmwsl.LoadImageWithCheck'),
    dict(type='mmwsl.LoadWSOLMask'),
    dict(type='mmwsl.PackWSOLInputs'),
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
    batch_size=32,
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

# GT-known / Top-1 Loc at a fixed CAM threshold of 0.2 (BAS protocol),
# MaxBoxAccV2 over all thresholds (wsolevaluation) and PxAP from the masks.
# With 4 classes only top-1 is meaningful.
val_evaluator = dict(type='mmwsl.WSOLMetric', loc_thresholds=(0.2, ),
                     topk=(1, ))
test_evaluator = val_evaluator
