# Copyright (c) mmwsl contributors. All rights reserved.
import mmpretrain.models  # noqa: F401  (mmpretrain parts used by configs)

from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .converters import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
