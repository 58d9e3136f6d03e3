# Copyright (c) mmwsl contributors. All rights reserved.
