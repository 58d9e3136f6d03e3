# mmwsl runtime defaults (MMEngine Runner).
default_scope = 'mmwsl'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Saves CAM overlays with boxes; `tools/test.py --show-dir` enables it.
    visualization=dict(type='mmwsl.CAMVisualizationHook', enable=False),
)

# Stores checkpoints so that torch>=2.6 weights-only loading accepts them.
custom_hooks = [dict(type='mmwsl.SafeCheckpointHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/ switch to gloo on CPU
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='mmwsl.WSOLVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
