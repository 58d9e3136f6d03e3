# Copyright (c) mmwsl contributors. All rights reserved.
from .synthetic import SyntheticWSOLDataset, SyntheticWSSSDataset
from .transforms import *  # noqa: F401,F403
