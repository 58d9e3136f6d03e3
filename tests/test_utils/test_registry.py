# Copyright (c) mmwsl contributors. All rights reserved.
import importlib

import pytest
from mmengine.registry import DefaultScope

import mmwsl.registry as wsl_registry


def test_every_root_registry_has_an_mmwsl_child():
    import mmengine.registry as root
    for name in wsl_registry.__all__:
        node = getattr(wsl_registry, name)
        assert node.scope == 'mmwsl'
        assert node.parent is getattr(root, name), name
        for location in node._locations:
            importlib.import_module(location)


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain', 'mmengine'])
def test_prefixed_type_builds_from_foreign_scope(scope):
    import mmpretrain.registry  # noqa: F401
    import mmseg.registry  # noqa: F401
    with DefaultScope.overwrite_default_scope(scope):
        from mmengine.registry import MODELS
        head = MODELS.build(
            dict(type='mmwsl.CAMHead', num_classes=3, in_channels=8))
    assert type(head).__name__ == 'CAMHead'
    assert head.fc.out_features == 3


def test_unknown_type_error_names_registry():
    from mmwsl.registry import MODELS
    with pytest.raises(KeyError, match='NoSuchHead is not in the mmwsl'):
        MODELS.build(dict(type='NoSuchHead'))


def test_register_all_modules_sets_scope():
    from mmwsl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmwsl'
