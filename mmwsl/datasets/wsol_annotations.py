# Copyright (c) mmwsl contributors. All rights reserved.
"""Reading and checking of WSOL annotation text files.

The WSOL datasets (:class:`~mmwsl.datasets.CUBWSOLDataset`,
:class:`~mmwsl.datasets.WSOLEvalDataset`) and
``tools/dataset_converters/check_wsol_dataset.py`` share these helpers. Every
problem is recorded with the file, the line number and the sample it concerns,
and all problems of a dataset are collected before anything is raised, so a
user repairing a download sees the whole list at once.
"""

import io
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine import fileio
from PIL import Image

#: How many problems an exception message lists before summarising.
MAX_REPORTED = 20

Record = Tuple[int, List[str]]


class DatasetProblems:
    """Collector of the problems found while reading a dataset.

    Args:
        name (str): What is being read, used as the message header, e.g.
            ``'CUB-200-2011 (test split) at data/CUB_200_2011'``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: List[str] = []
        self._missing: List[bool] = []

    def add(
        self,
        message: str,
        path: Optional[str] = None,
        lineno: Optional[int] = None,
        missing: bool = False,
    ) -> None:
        """Record a problem.

        Args:
            message (str): What is wrong, in words.
            path (str, optional): The annotation file concerned.
            lineno (int, optional): The 1-based line in ``path``.
            missing (bool): Whether the problem is a missing file (these are
                raised as ``FileNotFoundError`` when nothing else is wrong).
        """
        where = ''
        if path is not None:
            where = f'{path}:{lineno}: ' if lineno else f'{path}: '
        self.messages.append(where + message)
        self._missing.append(missing)

    def __len__(self) -> int:
        return len(self.messages)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def format(self, max_reported: Optional[int] = MAX_REPORTED) -> str:
        """All (or the first ``max_reported``) problems as one text."""
        shown = self.messages
        if max_reported is not None:
            shown = shown[:max_reported]
        lines = [f'{self.name}: {len(self)} problem(s) found:']
        lines += [f'  - {m}' for m in shown]
        hidden = len(self) - len(shown)
        if hidden:
            lines.append(
                f'  ... and {hidden} more. Run '
                'tools/dataset_converters/check_wsol_dataset.py '
                'for the full list.'
            )
        return '\n'.join(lines)

    def raise_if_any(self) -> None:
        """Raise ``FileNotFoundError`` if only files are missing, a
        ``ValueError`` if anything else is wrong, and nothing otherwise."""
        if not self:
            return
        if all(self._missing):
            raise FileNotFoundError(self.format())
        raise ValueError(self.format())


def read_records(
    path: str,
    num_fields: int,
    problems: DatasetProblems,
    sep: Optional[str] = None,
    optional: bool = False,
) -> List[Record]:
    """Read a line-per-record text file.

    Blank lines are skipped and CRLF endings are accepted. Each line is split
    at ``sep`` (``None``: runs of whitespace) into exactly ``num_fields``
    fields; with whitespace separation the last field keeps any further
    spaces. Lines with another number of fields are recorded as problems.

    Args:
        path (str): The file.
        num_fields (int): Number of fields per line.
        problems (DatasetProblems): Where problems are recorded.
        sep (str, optional): Field separator; ``None`` splits at whitespace.
        optional (bool): If True, a missing file reads as empty instead of
            being a problem.

    Returns:
        list[tuple[int, list[str]]]: ``(line number, fields)`` per record.
    """
    if not fileio.exists(path):
        if not optional:
            problems.add('file not found', path, missing=True)
        return []
    records = []
    text = fileio.get_text(path, encoding='utf-8')
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if sep is None:
            fields = line.split(None, num_fields - 1)
        else:
            fields = [f.strip() for f in line.split(sep)]
        if len(fields) != num_fields:
            problems.add(
                f'expected {num_fields} fields separated by '
                f'{"whitespace" if sep is None else repr(sep)}, got '
                f'{len(fields)}: {line!r}',
                path,
                lineno,
            )
            continue
        records.append((lineno, fields))
    return records


def index_records(
    records: Sequence[Record], path: str, problems: DatasetProblems
) -> Dict[str, Record]:
    """Index records by their first field, recording duplicated keys."""
    index: Dict[str, Record] = {}
    for lineno, fields in records:
        key = fields[0]
        if key in index:
            problems.add(
                f'{key!r} is listed twice (first on line {index[key][0]})',
                path,
                lineno,
            )
            continue
        index[key] = (lineno, fields)
    return index


def parse_number(
    token: str,
    kind: type,
    what: str,
    path: str,
    lineno: int,
    problems: DatasetProblems,
):
    """Parse ``token`` as ``kind`` (int or float); None and a recorded
    problem on failure."""
    try:
        value = kind(token)
    except ValueError:
        problems.add(
            f'{what} is not a valid {kind.__name__}: {token!r}', path, lineno
        )
        return None
    if kind is float and not np.isfinite(value):
        problems.add(f'{what} is not finite: {token!r}', path, lineno)
        return None
    return value


def compare_keys(
    reference: Sequence[str],
    ref_path: str,
    keys: Sequence[str],
    path: str,
    problems: DatasetProblems,
    what: str = 'image id',
    allow_extra: bool = False,
) -> None:
    """Record the keys that ``path`` misses or adds relative to the keys of
    ``ref_path`` (e.g. different line counts between metadata files).

    With ``allow_extra``, keys of ``path`` that ``ref_path`` does not list
    are fine (``ref_path`` lists a subset, e.g. a proxy image list).
    """
    ref_set, key_set = set(reference), set(keys)
    missing = [k for k in reference if k not in key_set]
    extra = [] if allow_extra else [k for k in keys if k not in ref_set]
    if missing:
        problems.add(
            f'{len(missing)} {what}(s) of {ref_path} ({len(ref_set)} '
            f'entries) have no line here ({len(key_set)} entries), e.g. '
            f'{", ".join(repr(k) for k in missing[:5])}',
            path,
        )
    if extra:
        problems.add(
            f'{len(extra)} {what}(s) are not listed in {ref_path}, e.g. '
            f'{", ".join(repr(k) for k in extra[:5])}',
            path,
        )


def image_size(path: str) -> Tuple[int, int]:
    """``(width, height)`` of an image file, read from its header only.

    The size is the stored one, without EXIF orientation applied (as the
    reference WSOL code reads images with PIL and as mmcv's
    ``color_ignore_orientation`` flag decodes them).
    """
    if osp.isfile(path):
        with Image.open(path) as img:
            return img.size
    with Image.open(io.BytesIO(fileio.get(path))) as img:
        return img.size


def check_image(
    path: str, source: str, problems: DatasetProblems, read_size: bool
) -> Optional[Tuple[int, int]]:
    """Check that an annotated image exists (and optionally read its size).

    Args:
        path (str): The image file.
        source (str): Where it is listed, e.g. ``'images.txt:17'``.
        problems (DatasetProblems): Where problems are recorded.
        read_size (bool): Also read ``(width, height)`` from the header.

    Returns:
        tuple[int, int] | None: The size when read and readable.
    """
    if not read_size:
        if not fileio.exists(path):
            problems.add(
                f'image file not found: {path} (listed in {source})',
                missing=True,
            )
        return None
    try:
        return image_size(path)
    except FileNotFoundError:
        problems.add(
            f'image file not found: {path} (listed in {source})', missing=True
        )
    except OSError as e:
        problems.add(
            f'cannot read the image header of {path} (listed in {source}): {e}'
        )
    return None


def check_box(
    box: Sequence[float],
    size: Optional[Tuple[int, int]],
    what: str,
    path: str,
    lineno: int,
    problems: DatasetProblems,
) -> bool:
    """Check an inclusive-corner box ``(x0, y0, x1, y1)`` against
    ``0 <= x0 <= x1 <= W - 1`` and ``0 <= y0 <= y1 <= H - 1``.

    Args:
        box (Sequence[float]): The box in original image pixels.
        size (tuple[int, int], optional): ``(W, H)`` of the image; without
            it only the order of the corners and their sign are checked.
        what (str): The sample, for the message.
        path (str): The annotation file.
        lineno (int): The line in ``path``.
        problems (DatasetProblems): Where problems are recorded.

    Returns:
        bool: Whether the box is valid.
    """
    x0, y0, x1, y1 = box
    if min(box) < 0 or x1 < x0 or y1 < y0:
        problems.add(
            f'invalid box of {what}: (x0, y0, x1, y1) = '
            f'({x0:g}, {y0:g}, {x1:g}, {y1:g}) must satisfy 0 <= x0 <= x1 '
            'and 0 <= y0 <= y1',
            path,
            lineno,
        )
        return False
    if size is not None:
        w, h = size
        if x1 > w - 1 or y1 > h - 1:
            problems.add(
                f'box of {what} lies outside the {w}x{h} (WxH) image: '
                f'(x0, y0, x1, y1) = ({x0:g}, {y0:g}, {x1:g}, {y1:g}), '
                f'but x1 <= {w - 1} and y1 <= {h - 1} are required',
                path,
                lineno,
            )
            return False
    return True
