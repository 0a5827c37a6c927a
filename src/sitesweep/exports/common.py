"""Helpers shared by the exports: times, severities, the files an inventory hashed, CSV text."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from itertools import islice
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

from sitesweep import timefmt
from sitesweep.model import Finding, Severity
from sitesweep.osprofile.paths import display_path
from sitesweep.textsafe import printable

if TYPE_CHECKING:  # annotations only: the bundle custody (--version) need not import the engine
    from sitesweep.metadata.model import HostFile
    from sitesweep.outcome import ScanResult

SEVERITY_NUMBER: Dict[Severity, int] = {
    Severity.INFO: 1,
    Severity.LOW: 21,
    Severity.MEDIUM: 47,
    Severity.HIGH: 73,
    Severity.CRITICAL: 99,
}
"""ECS ``event.severity`` numbers (the Elastic detection-rule scale: 21/47/73/99)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BLOCK = 2000
"""Rows per piece of an export written in pieces (:func:`blocks`)."""

T = TypeVar("T")


def iso_utc(epoch: Optional[float]) -> str:
    """Format epoch seconds as ISO 8601 UTC with a ``Z`` (empty string for ``None``)."""
    if epoch is None:
        return ""
    return timefmt.iso_utc(epoch, "microseconds")


def iso_dt(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z``."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class HostCells(NamedTuple):
    """The host columns that lead every CSV row and JSONL object, so several hosts merge."""

    name: str
    id: str
    """The machine id, empty when the host has none."""


HOST_COLUMNS = ("host_name", "host_id")


def host_cells(result: ScanResult) -> HostCells:
    """The host columns of ``result``'s host."""
    ident = result.inventory.identity
    return HostCells(ident.hostname, ident.machine_id or "")


PathShower = Callable[[str], str]
"""Writes a host path as the scanned host writes it (``C:\\Users\\...`` on Windows)."""


def path_shower(result: ScanResult) -> PathShower:
    """:func:`~sitesweep.osprofile.paths.display_path` for ``result``'s host: every export shows
    host paths through it, never converting them itself."""
    os_info = result.inventory.os

    def show(path: str) -> str:
        return display_path(path, os_info)

    return show


def hashed_files(result: ScanResult) -> Dict[str, HostFile]:
    """Every file the inventory hashed, by host path (indicator files, .pth files, hooks)."""
    inv = result.inventory
    index: Dict[str, HostFile] = {f.path: f for f in inv.files}
    index.update({p.file.path: p.file for p in inv.pth_files})
    index.update({h.file.path: h.file for h in inv.startup_hooks})
    return index


def worst_by_path(findings: Iterable[Finding]) -> Dict[str, Severity]:
    """The most severe finding's severity for every path a finding names."""
    worst: Dict[str, Severity] = {}
    for finding in findings:
        for path in finding.paths:
            if path not in worst or finding.severity.rank > worst[path].rank:
                worst[path] = finding.severity
    return worst


def worst_by_distribution(findings: Iterable[Finding]) -> Dict[Tuple[str, str, str], Severity]:
    """The most severe finding's severity for each (environment, distribution, version)."""
    worst: Dict[Tuple[str, str, str], Severity] = {}
    for f in findings:
        if f.distribution is None:
            continue
        key = (f.environment or "", f.distribution, f.version or "")
        if key not in worst or f.severity.rank > worst[key].rank:
            worst[key] = f.severity
    return worst


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run, holding no control character.

    Host data is hostile; ``=HYPERLINK(...)`` in a file name must stay text when a responder opens
    the CSV in a spreadsheet: text starting like a formula gets a ``'`` prefix (host paths start
    with ``/`` and are never changed). Every value goes through
    :func:`~sitesweep.textsafe.printable` (a newline in a file name is ``\\n``, as in every other
    rendered document); a multi-valued cell is a tuple or list, its values escaped one by one
    and joined with newlines (the only line breaks a cell holds).
    """
    if isinstance(value, (tuple, list)):
        text = "\n".join(printable(v) for v in value)
    else:
        # Exactly str first (most cells); a str subclass such as an enum goes through str().
        text = printable(value if value.__class__ is str else "" if value is None else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def blocks(items: Iterable[T], size: int = BLOCK) -> Iterator[List[T]]:
    """``items`` in lists of at most ``size``."""
    it = iter(items)
    while True:
        block = list(islice(it, size))
        if not block:
            return
        yield block


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends, every cell neutralised with :func:`safe_cell`)."""
    return "".join(csv_chunks(header, rows))


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """:func:`csv_text` in pieces of :data:`BLOCK` rows, so a large CSV is never held whole."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for block in blocks(rows):
        writer.writerows([[safe_cell(v) for v in row] for row in block])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    tail = buffer.getvalue()
    if tail:  # no row at all: the header alone
        yield tail
