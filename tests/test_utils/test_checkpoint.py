# Copyright (c) mmwsl contributors. All rights reserved.
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmwsl.utils import UnsafeCheckpointError, load_checkpoint_safely
from mmwsl.utils.checkpoint import restore_checkpoint, sanitize_checkpoint


def _checkpoint():
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(0.5, count=2)
    return dict(
        meta=dict(epoch=3, iter=30, seed=np.int64(7),
                  lr=np.float64(0.1), arr=np.arange(3)),
        state_dict=dict(w=torch.arange(4.)),
        message_hub=dict(log_scalars={'train/loss': buf},
                         runtime_info=dict(iter=30), resumed_keys={}))


def test_sanitized_checkpoint_round_trip(tmp_path):
    path = str(tmp_path / 'ok.pth')
    torch.save(sanitize_checkpoint(_checkpoint()), path)
    # Only allow-listed globals are needed, and getattr is not among them.
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert not any('getattr' in g or 'HistoryBuffer' in g for g in unsafe)
    ckpt = _load_checkpoint(path)  # mmengine's loader, routed to mmwsl's
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    np.testing.assert_allclose(buf.data[0], [1.5, 0.5])
    np.testing.assert_array_equal(buf.data[1], [1, 2])
    assert buf.mean() == pytest.approx(2.0 / 3.0)  # sum(log) / sum(count)
    assert ckpt['meta']['seed'] == 7
    np.testing.assert_array_equal(ckpt['meta']['arr'], [0, 1, 2])


def test_unsanitized_mmengine_checkpoint_is_refused(tmp_path):
    # HistoryBuffer pickles its statistics methods through builtins.getattr,
    # which the allow-list deliberately excludes.
    path = str(tmp_path / 'raw.pth')
    torch.save(_checkpoint(), path)
    with pytest.raises(UnsafeCheckpointError, match='raw.pth'):
        load_checkpoint_safely(path)


class _Payload:

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_code_execution_on_unpickling_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    payload = _Payload()
    payload.marker = marker
    path = str(tmp_path / 'evil.pth')
    with open(path, 'wb') as f:
        pickle.dump(dict(state_dict={}, x=payload), f)
    with pytest.raises(UnsafeCheckpointError,
                       match='Refusing to load checkpoint .*evil.pth'):
        _load_checkpoint(path)
    assert not marker.exists()


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safely(str(tmp_path / 'nope.pth'))


def test_restore_leaves_other_entries():
    ckpt = dict(message_hub=dict(log_scalars={'a': 1}))
    assert restore_checkpoint(ckpt)['message_hub']['log_scalars'] == {'a': 1}
