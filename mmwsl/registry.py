# Copyright (c) mmwsl contributors. All rights reserved.
"""mmwsl registries: a child of every mmengine root registry (scope mmwsl).

Each node lists the module that registers its members in ``locations``, so a
``type='mmwsl.X'`` entry in any config (also one with another default scope)
imports what it needs without ``custom_imports``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import (
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS,
)
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import (
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS,
)
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES',
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
    'INFERENCERS', 'FUNCTIONS'
]


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope='mmwsl', locations=[location])


# Runners, loops, hooks and optimisation live in mmwsl.engine.
RUNNERS = _child('runner', MMENGINE_RUNNERS, 'mmwsl.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             MMENGINE_RUNNER_CONSTRUCTORS, 'mmwsl.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'mmwsl.engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'mmwsl.engine')
STRATEGIES = _child('strategy', MMENGINE_STRATEGIES, 'mmwsl.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'mmwsl.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS,
                        'mmwsl.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmwsl.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          'mmwsl.engine')
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS,
                        'mmwsl.engine')

# Datasets, samplers, transforms and collate functions live in mmwsl.datasets.
DATASETS = _child('dataset', MMENGINE_DATASETS, 'mmwsl.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS,
                       'mmwsl.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'mmwsl.datasets')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'mmwsl.datasets')

# Models and their parts live in mmwsl.models.
MODELS = _child('model', MMENGINE_MODELS, 'mmwsl.models')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS,
                        'mmwsl.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS, 'mmwsl.models')
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, 'mmwsl.models')

# Evaluation.
METRICS = _child('metric', MMENGINE_METRICS, 'mmwsl.evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'mmwsl.evaluation')

# Visualization and inference.
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS,
                     'mmwsl.visualization')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS,
                     'mmwsl.visualization')
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, 'mmwsl.apis')
