# Copyright (c) mmwsl contributors. All rights reserved.
"""Command-line helpers shared by the scripts in ``tools/``.

mmwsl checks its inputs (dataset folders, annotation files, images,
checkpoints, configs) and raises errors whose message says which file or
field is wrong and how to fix it. A tool run should show that message, not
a page of traceback ending in it. :func:`exit_on_user_error` does that for
errors mmwsl raised itself; any other exception (a bug, or an error from
deep inside a library) keeps its full traceback. Set ``MMWSL_DEBUG=1`` to
see the traceback of every error.
"""
import contextlib
import os
import os.path as osp
import pickle
import sys
import traceback
from typing import Iterator, Optional

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Exception types mmwsl uses for bad user input.
USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError, KeyError,
               ImportError, pickle.UnpicklingError)


def _in_package(filename: str) -> bool:
    return osp.abspath(filename).startswith(PACKAGE_DIR + os.sep)


def user_error_message(exc: BaseException) -> Optional[str]:
    """The message of an input error that mmwsl raised, else ``None``.

    An error counts when it is one of :data:`USER_ERRORS` and its innermost
    frame is in the mmwsl package, also when a dataloader worker raised it
    (PyTorch re-raises it in the main process with the worker's traceback
    as text).
    """
    if not isinstance(exc, USER_ERRORS):
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and _in_package(frames[-1].filename):
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return f'{type(exc).__name__}: {msg}'
    text = str(exc)
    if 'Original Traceback' not in text:
        return None
    lines = text.rstrip().splitlines()
    frame_lines = [
        i for i, line in enumerate(lines)
        if line.lstrip().startswith('File "')
    ]
    if not frame_lines:
        return None
    last = lines[frame_lines[-1]].split('"')
    if len(last) < 2 or not _in_package(last[1]):
        return None
    # The frame line, its source line, then the error text.
    return '\n'.join(lines[frame_lines[-1] + 2:]).strip() or None


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turn mmwsl's input errors into a short message and exit status 1."""
    try:
        yield
    except Exception as exc:
        msg = user_error_message(exc)
        if msg is None or os.environ.get('MMWSL_DEBUG'):
            raise
        print(f'\nerror: {msg}\n(set MMWSL_DEBUG=1 to see the traceback)',
              file=sys.stderr)
        sys.exit(1)
