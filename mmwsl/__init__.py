# Copyright (c) mmwsl contributors. All rights reserved.
"""mmwsl: weakly supervised object localization and semantic segmentation
for OpenMMLab 2.x."""
from .utils.dependency import check_dependencies
from .version import __version__, version_info

check_dependencies()

from .utils.checkpoint import install_safe_checkpoint_loader  # noqa: E402

install_safe_checkpoint_loader()

__all__ = ['__version__', 'version_info']
