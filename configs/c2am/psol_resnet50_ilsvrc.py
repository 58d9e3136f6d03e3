# PSOL box regressor on ILSVRC pseudo boxes (reference
# WSOL/PSOL/training_ILSVRC.py: lr 0.002 * batch / 256 with the head at 2x,
# batch 256, 20 epochs, cosine decay per iteration, validation every epoch).
#   python tools/c2am_pseudo_boxes.py configs/c2am/c2am_resnet50_ilsvrc.py \
#       C2AM.pth --out work_dirs/c2am_resnet50_ilsvrc/pseudo_boxes.json
# The reference validates on the first GT box of each image; the metric
# here takes the best-matching GT box, as the reference test does.
_base_ = ['./psol_resnet50_cub.py']

pseudo_boxes = 'work_dirs/c2am_resnet50_ilsvrc/pseudo_boxes.json'
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='mmwsl.WSOLEvalDataset',
            dataset_name='ILSVRC',
            split='train',
            data_root='data/wsolevaluation',
            check_files=False,
        ),
        pseudo_boxes=pseudo_boxes,
    ),
)
_test_dataset = dict(
    _delete_=True,
    type='mmwsl.WSOLEvalDataset',
    dataset_name='ILSVRC',
    split='test',
    data_root='data/wsolevaluation',
    test_mode=True,
    pipeline={{_base_.test_pipeline}},
)
val_dataloader = dict(dataset=_test_dataset)
test_dataloader = val_dataloader
param_scheduler = dict(T_max=20, end=20)
train_cfg = dict(max_epochs=20, val_interval=1)
