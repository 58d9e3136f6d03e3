# Copyright (c) mmwsl contributors. All rights reserved.
import os.path as osp
import sys

# Test this checkout, whichever mmwsl the environment has installed.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402


@pytest.fixture(autouse=True)
def mmwsl_default_scope():
    """Run every test with ``mmwsl`` as the default registry scope.

    ``DefaultScope`` is process-global; a Runner or an inferencer built by one
    test would otherwise change how later tests resolve unprefixed types.
    """
    with DefaultScope.overwrite_default_scope('mmwsl'):
        yield


@pytest.fixture(autouse=True, scope='session')
def _few_threads():
    # The suite runs on small CPU machines; oversubscription only slows it.
    torch.set_num_threads(2)
    yield
