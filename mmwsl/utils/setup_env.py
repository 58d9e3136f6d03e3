# Copyright (c) mmwsl contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmwsl module that registers components.

    Registries find mmwsl components through their ``locations`` already;
    this is for code that wants them all registered up front.

    Args:
        init_default_scope: Also make ``'mmwsl'`` the default scope (a new
            instance is created when another scope is current).
    """
    import mmwsl.apis  # noqa: F401,F811
    import mmwsl.datasets  # noqa: F401,F811
    import mmwsl.engine  # noqa: F401,F811
    import mmwsl.evaluation  # noqa: F401,F811
    import mmwsl.models  # noqa: F401,F811
    import mmwsl.visualization  # noqa: F401,F811

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmwsl'):
        DefaultScope.get_instance('mmwsl', scope_name='mmwsl')
    elif current.scope_name != 'mmwsl':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "mmwsl"; creating a new "mmwsl" scope instance.',
                      stacklevel=2)
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmwsl-{stamp}', scope_name='mmwsl')
