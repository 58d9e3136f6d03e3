# Copyright (c) mmwsl contributors. All rights reserved.
from mmengine.utils import get_git_hash
from mmengine.utils.dl_utils import collect_env as collect_base_env

import mmwsl


def collect_env() -> dict:
    """Environment information for bug reports: the mmengine set plus the
    versions of the OpenMMLab packages mmwsl builds on."""
    env_info = collect_base_env()
    import mmcv
    import mmpretrain
    import mmseg
    env_info['MMCV'] = mmcv.__version__
    env_info['MMPretrain'] = mmpretrain.__version__
    env_info['MMSegmentation'] = mmseg.__version__
    env_info['MMWSL'] = mmwsl.__version__ + '+' + get_git_hash(digits=7)
    return env_info


if __name__ == '__main__':
    for name, val in collect_env().items():
        print(f'{name}: {val}')
