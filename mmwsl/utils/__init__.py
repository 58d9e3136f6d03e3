# Copyright (c) mmwsl contributors. All rights reserved.
from .checkpoint import (
                         UnsafeCheckpointError,
                         install_safe_checkpoint_loader,
                         load_checkpoint_safely,
)
from .collect_env import collect_env
from .dependency import DependencyError, check_dependencies
from .setup_env import register_all_modules

__all__ = [
    'UnsafeCheckpointError', 'install_safe_checkpoint_loader',
    'load_checkpoint_safely', 'collect_env', 'DependencyError',
    'check_dependencies', 'register_all_modules'
]
