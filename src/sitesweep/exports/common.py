"""Helpers shared by the exports: times, severities, the files an inventory hashed, CSV text."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Dict, Iterable, Optional, Sequence

from sitesweep.model import Finding, Severity

if TYPE_CHECKING:  # annotations only: the bundle custody (--version) need not import the engine
    from sitesweep.engine import ScanResult
    from sitesweep.metadata.model import HostFile

SEVERITY_NUMBER: Dict[Severity, int] = {
    Severity.INFO: 1,
    Severity.LOW: 21,
    Severity.MEDIUM: 47,
    Severity.HIGH: 73,
    Severity.CRITICAL: 99,
}
"""ECS ``event.severity`` numbers (the Elastic detection-rule scale: 21/47/73/99)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(epoch: Optional[float]) -> str:
    """Format epoch seconds as ISO 8601 UTC with a ``Z`` (empty string for ``None``)."""
    if epoch is None:
        return ""
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_dt(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z``."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a ``'`` prefix.

    Host data is hostile; ``=HYPERLINK(...)`` in a file name must stay text when a responder opens
    the CSV in a spreadsheet. Host paths start with ``/`` and are never changed.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends, every cell neutralised with :func:`safe_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()
