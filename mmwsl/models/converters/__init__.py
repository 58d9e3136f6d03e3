# Copyright (c) mmwsl contributors. All rights reserved.
from .bas import convert_bas
from .c2am import convert_c2am, split_c2am_checkpoint
