"""Exports written in pieces: CSV and JSON lines in blocks of rows, and a memoised environment
lookup, so a large host's exports are never held whole and environments are not searched once
per row.
"""

from __future__ import annotations

import csv
import io
from itertools import islice
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    TypeVar,
)

from sitesweep.exports.common import _FORMULA_START, safe_cell

if TYPE_CHECKING:
    from sitesweep.discovery.model import PythonEnv
    from sitesweep.engine import ScanResult

T = TypeVar("T")

BLOCK = 2000
"""Rows per piece."""


def blocks(items: Iterable[T], size: int = BLOCK) -> Iterator[List[T]]:
    """``items`` in lists of at most ``size``."""
    it = iter(items)
    while True:
        block = list(islice(it, size))
        if not block:
            return
        yield block


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """:func:`sitesweep.exports.common.csv_text` in pieces of :data:`BLOCK` rows (same text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for block in blocks(rows):
        writer.writerows([_safe_row(row) for row in block])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    tail = buffer.getvalue()
    if tail:  # no row at all: the header alone
        yield tail


def _safe_row(row: Sequence[object]) -> List[str]:
    """``[safe_cell(v) for v in row]``, with strings checked inline (the common case)."""
    return [
        ("'" + v if v.startswith(_FORMULA_START) else v) if v.__class__ is str else safe_cell(v)
        for v in row
    ]


def environment_finder(result: ScanResult) -> Callable[[str], Optional[PythonEnv]]:
    """``result.inventory.environment_of``, remembered per path (site dirs recur on every row)."""
    known: Dict[str, Optional[PythonEnv]] = {}
    find = result.inventory.environment_of

    def lookup(path: str) -> Optional[PythonEnv]:
        try:
            return known[path]
        except KeyError:
            env = known[path] = find(path)
            return env

    return lookup
