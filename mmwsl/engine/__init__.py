# Copyright (c) mmwsl contributors. All rights reserved.
from .hooks import *  # noqa: F401,F403
