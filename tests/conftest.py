# Copyright (c) mmwsl contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import DefaultScope


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
