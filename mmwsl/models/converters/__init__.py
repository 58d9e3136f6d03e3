# Copyright (c) mmwsl contributors. All rights reserved.
from .bas import convert_bas
