# Copyright (c) mmwsl contributors. All rights reserved.
import pytest

from mmwsl.utils import dependency
from mmwsl.utils.dependency import DependencyError, check_dependencies


def test_installed_stack_passes():
    check_dependencies()


def _fake_versions(monkeypatch, **versions):
    real = dependency._installed

    def installed(dist):
        key = dist.replace('-', '_')
        return versions[key] if key in versions else real(dist)

    monkeypatch.setattr(dependency, '_installed', installed)


def test_mmcv_lite_is_rejected(monkeypatch):
    _fake_versions(monkeypatch, mmcv=None, mmcv_lite='2.1.0')
    with pytest.raises(DependencyError, match='mmcv-lite is installed'):
        check_dependencies()


def test_mmcv_too_new_is_rejected(monkeypatch):
    _fake_versions(monkeypatch, mmcv='2.2.0')
    with pytest.raises(DependencyError,
                       match=r'mmcv==2.2.0 is installed.*<2.2.0'):
        check_dependencies()


def test_missing_torchvision_is_reported(monkeypatch):
    _fake_versions(monkeypatch, torchvision=None)
    with pytest.raises(DependencyError,
                       match='torchvision>=0.15.0 is not installed') as e:
        check_dependencies()
    assert 'tools/setup_env.sh' in str(e.value)


def test_mmseg_out_of_range(monkeypatch):
    _fake_versions(monkeypatch, mmsegmentation='1.1.0', mmpretrain='1.3.0')
    with pytest.raises(DependencyError) as e:
        check_dependencies()
    assert 'mmsegmentation==1.1.0' in str(e.value)
    assert 'mmpretrain==1.3.0' in str(e.value)
