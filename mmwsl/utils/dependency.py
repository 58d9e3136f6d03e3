# Copyright (c) mmwsl contributors. All rights reserved.
"""Checks that the OpenMMLab stack mmwsl needs is installed and compatible."""
import importlib.util
from importlib import metadata
from typing import Optional

from packaging.version import Version

# (distribution, minimum inclusive, maximum exclusive, why)
REQUIREMENTS = (
    ('mmengine', '0.10.0', '0.11.0', 'the runner, configs and registries'),
    ('mmcv', '2.0.0rc4', '2.2.0', 'mmsegmentation 1.2.x asserts mmcv<2.2.0'),
    ('mmsegmentation', '1.2.2', '1.3.0', 'segmentors and WSSS datasets'),
    ('mmpretrain', '1.2.0', '1.3.0', 'backbones and classifiers'),
    ('torchvision', '0.15.0', None, 'mmpretrain imports it'),
)

INSTALL_HINT = ('Run `bash tools/setup_env.sh` from the mmwsl checkout to '
                'create a working environment, or see README.md, '
                '"Supported versions".')


class DependencyError(ImportError):
    """Raised when the installed OpenMMLab stack cannot run mmwsl."""


def _installed(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_dependencies() -> None:
    """Fail early, with an actionable message, on an unusable stack.

    Raises:
        DependencyError: if a package is missing, out of the supported
            range, or mmcv is the ``mmcv-lite`` build without compiled ops.
    """
    problems = []
    if _installed('mmcv') is None and _installed('mmcv-lite') is not None:
        problems.append(
            'mmcv-lite is installed, but mmsegmentation needs the full mmcv '
            'with compiled ops: `pip uninstall mmcv-lite` and install '
            'mmcv==2.1.0 (prebuilt wheel or `pip install mmcv==2.1.0 '
            '--no-build-isolation`).')
    for dist, low, high, why in REQUIREMENTS:
        if dist == 'mmcv' and problems:
            continue
        found = _installed(dist)
        wanted = f'>={low}' + (f',<{high}' if high else '')
        if found is None:
            problems.append(f'{dist}{wanted} is not installed ({why}).')
            continue
        v = Version(found)
        if v < Version(low) or (high is not None and v >= Version(high)):
            problems.append(f'{dist}=={found} is installed, but mmwsl needs '
                            f'{dist}{wanted} ({why}).')
    if not problems and importlib.util.find_spec('mmcv._ext') is None:
        problems.append('mmcv is installed without its compiled ops '
                        '(mmcv._ext is missing); mmsegmentation cannot '
                        'import without them. Reinstall mmcv==2.1.0 with ops.')
    if problems:
        raise DependencyError('mmwsl cannot run with the installed '
                              'packages:\n  - ' + '\n  - '.join(problems) +
                              '\n' + INSTALL_HINT)
