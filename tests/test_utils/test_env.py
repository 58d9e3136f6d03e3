# Copyright (c) mmwsl contributors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmwsl.utils import collect_env

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_collect_env_lists_the_stack():
    env = collect_env()
    for key in ('MMCV', 'MMPretrain', 'MMSegmentation', 'MMWSL', 'PyTorch'):
        assert key in env, key
    assert env['MMCV'] == '2.1.0'


def test_setup_script_reuses_a_complete_environment():
    stamp = osp.join(sys.prefix, '.mmwsl-complete')
    if not osp.isfile(stamp):
        pytest.skip('not running inside an environment made by '
                    'tools/setup_env.sh')
    env = dict(os.environ, MMWSL_ENV=sys.prefix)
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh')],
                          capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == sys.prefix
    if 'reusing environment' not in proc.stderr:
        # Pins changed since this environment was made: it was updated.
        assert 'installing' in proc.stderr
