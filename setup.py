# Copyright (c) mmwsl contributors. All rights reserved.
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'mmwsl', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Requirement lines of ``requirements/<fname>`` (comments dropped)."""
    reqs = []
    with open(osp.join(ROOT, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Ship ``configs/``, ``tools/`` and ``model-index.yml`` inside the
    package as ``mmwsl/.mim`` so installed copies can find their configs.

    Development installs link them; wheels and sdists copy them.
    """
    argv = ' '.join(sys.argv)
    if 'develop' in argv or 'editable' in argv:
        mode = 'symlink'
    elif any(k in argv for k in ('sdist', 'bdist_wheel', 'install')):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(ROOT, 'mmwsl', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src = osp.join(ROOT, name)
        if not osp.exists(src):
            continue
        dst = osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmwsl',
        version=get_version(),
        description='Weakly supervised object localization and semantic '
        'segmentation toolbox for OpenMMLab 2.x',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='weakly supervised, object localization, semantic '
        'segmentation, CAM, OpenMMLab',
        packages=find_packages(exclude=('configs', 'tools', 'tests',
                                        'projects', 'docs')),
        include_package_data=True,
        package_data={'mmwsl': ['.mim/**/*', '.mim/*']},
        python_requires='>=3.9',
        license='Apache License 2.0',
        install_requires=parse_requirements('runtime.txt') +
        parse_requirements('mminstall.txt'),
        extras_require={
            'tests': parse_requirements('tests.txt'),
            'optional': parse_requirements('optional.txt'),
            'mim': parse_requirements('mminstall.txt'),
        },
        zip_safe=False)
