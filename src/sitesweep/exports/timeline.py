"""A super-timeline of the collection, in Timesketch's import format (CSV and JSONL).

Timesketch needs ``message``, ``datetime`` (ISO 8601) and ``timestamp_desc``; every other column is
kept as an attribute. Rows come from every timed observation: distribution install times, the
modification times of indicator files, ``.pth`` files, startup hooks, persistence entries and
credential files, process start times, and shell-history lines that installed an affected
distribution (at the line's time; a line without one at its history file's modification time, left
out of the exposure window). Each row carries the worst severity of the findings about it (for a
history line, of the history findings that cite it: nothing is judged here), so the exposure
window (first and last evidence of the bad code) falls out of the rows. Every row names its host,
so several hosts' timelines can be merged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from sitesweep.exports.common import (
    HostCells,
    PathShower,
    blocks,
    csv_chunks,
    csv_text,
    hashed_files,
    iso_utc,
    path_shower,
    worst_by_distribution,
    worst_by_path,
)
from sitesweep.exports.stream import environment_finder
from sitesweep.model import Category, Finding, Severity
from sitesweep.outcome import ScanResult
from sitesweep.textsafe import printable_tree

COLUMNS = (
    "datetime",
    "timestamp_desc",
    "message",
    "host_name",
    "host_id",
    "source",
    "path",
    "environment",
    "distribution",
    "version",
    "severity",
    "sha256",
    "timestamp",
)
"""Timeline columns, Timesketch's three first, then the host (so several hosts' timelines merge);
``timestamp`` is epoch microseconds."""

WINDOW_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)
"""Rows at these severities are evidence of the bad code for the exposure window."""
NOT_CODE_SOURCES = frozenset({"credential", "shell-history-untimed"})
"""Rows whose time is not a time of the bad code: a secret's mtime is no time of the attack, and
a history file's mtime is its last write, not when an untimed install line ran."""


@dataclass(frozen=True)
class TimelineEvent:
    """One timed observation.

    Attributes:
        epoch: UTC epoch seconds.
        timestamp_desc: what the time means (Timesketch's ``timestamp_desc``).
        message: one line for the analyst.
        source: the observation type (distribution, pth, file, startup-hook, persistence, ...).
        path: the host path concerned, as the host writes it.
        environment: prefix of the Python environment, if any (as the host writes it).
        distribution, version: the distribution, if the row is about one.
        severity: the worst finding about this observation, empty when none.
        sha256: the file's hash, when known.
    """

    epoch: float
    timestamp_desc: str
    message: str
    source: str
    path: str
    environment: str = ""
    distribution: str = ""
    version: str = ""
    severity: str = ""
    sha256: str = ""

    @property
    def datetime(self) -> str:
        """The time as ISO 8601 UTC."""
        return iso_utc(self.epoch)

    def row(self, host: HostCells) -> Dict[str, object]:
        """The event as a Timesketch row of ``host``."""
        return {
            "datetime": self.datetime,
            "timestamp_desc": self.timestamp_desc,
            "message": self.message,
            "host_name": host.name,
            "host_id": host.id,
            "source": self.source,
            "path": self.path,
            "environment": self.environment,
            "distribution": self.distribution,
            "version": self.version,
            "severity": self.severity,
            "sha256": self.sha256,
            "timestamp": round(self.epoch * 1_000_000),
        }


@dataclass(frozen=True)
class ExposureWindow:
    """The earliest and latest timed evidence of the bad code (rows at high or critical)."""

    start: str
    end: str
    rows: int


_EnvOf = Callable[[str], str]
"""A path's environment prefix ("" when none)."""


def _env_of(result: ScanResult) -> _EnvOf:
    find = environment_finder(result)

    def prefix(path: str) -> str:
        env = find(path)
        return env.prefix if env is not None else ""

    return prefix


def _distributions(
    result: ScanResult, by_path: Dict[str, Severity], env_of: _EnvOf, show: PathShower
) -> Iterator[TimelineEvent]:
    by_dist = worst_by_distribution(result.findings)
    for dist in result.inventory.distributions:
        if dist.installed_at is None:
            continue
        env = env_of(dist.site_dir)
        severity = by_dist.get((env, dist.name, dist.version)) or by_path.get(dist.path)
        yield TimelineEvent(
            dist.installed_at,
            "Install Time (metadata directory modified)",
            f"{dist.raw_name} {dist.version} installed in {show(dist.site_dir)}",
            "distribution",
            show(dist.path),
            show(env) if env else "",
            dist.name,
            dist.version,
            str(severity or ""),
        )


def _files(
    result: ScanResult, by_path: Dict[str, Severity], env_of: _EnvOf, show: PathShower
) -> Iterator[TimelineEvent]:
    kinds: Dict[str, str] = {p.file.path: "pth" for p in result.inventory.pth_files}
    kinds.update({h.file.path: "startup-hook" for h in result.inventory.startup_hooks})
    for path, file in sorted(hashed_files(result).items()):
        source = kinds.get(path, "file")
        yield TimelineEvent(
            file.mtime,
            "Content Modification Time",
            f"{source} file {show(path)} modified ({file.size} bytes)",
            source,
            show(path),
            show(env_of(path)) if env_of(path) else "",
            severity=str(by_path.get(path, "")),
            sha256=file.sha256 or "",
        )


def _host_state(
    result: ScanResult, by_path: Dict[str, Severity], show: PathShower
) -> Iterator[TimelineEvent]:
    inv = result.inventory
    for entry in inv.persistence:
        yield TimelineEvent(
            entry.mtime,
            "Content Modification Time",
            f"{entry.kind} persistence entry {show(entry.path)} modified ({entry.scope})",
            "persistence",
            show(entry.path),
            severity=str(by_path.get(entry.path, "")),
            sha256=entry.sha256 or "",
        )
    for item in inv.credentials:
        yield TimelineEvent(
            item.mtime,
            "Content Modification Time",
            f"credential {item.kind} {show(item.path)} modified ({item.entry})",
            "credential",
            show(item.path),
            severity=str(by_path.get(item.path, "")),
        )
    for proc in inv.processes:
        if proc.create_time is None:
            continue
        yield TimelineEvent(
            proc.create_time,
            "Process Start Time",
            f"process {proc.pid} ({proc.name}) started: {' '.join(proc.cmdline)[:500]}",
            "process",
            show(proc.exe or ""),
            severity=str(by_path.get(proc.exe or "", "")),
        )


def _history_lines(findings: Tuple[Finding, ...]) -> Dict[Tuple[str, int], Severity]:
    """The worst severity the history check gave each (history file, line) it cites."""
    worst: Dict[Tuple[str, int], Severity] = {}
    for f in findings:
        if f.category is not Category.PACKAGE or not f.paths:
            continue
        for ev in f.evidence:
            if ev.label != "command" or ev.line is None:
                continue
            key = (f.paths[0], ev.line)
            if key not in worst or f.severity.rank > worst[key].rank:
                worst[key] = f.severity
    return worst


def _history(result: ScanResult, show: PathShower) -> Iterator[TimelineEvent]:
    affected = {r.name for pack in result.packs.packs for r in pack.affected}
    judged = _history_lines(result.findings)
    for item in result.inventory.history_installs:
        names = sorted({p.name for p in item.packages if p.name in affected})
        if not names:
            continue
        worst = judged.get((item.path, item.line))
        pins = {p.name: p.version or "" for p in item.packages}
        timed = item.epoch is not None
        yield TimelineEvent(
            item.epoch if item.epoch is not None else item.file_mtime,
            "Shell History Command Time" if timed else "history file modified (line time unknown)",
            f"{item.user} ran {item.command} ({item.shell} history line {item.line})",
            "shell-history" if timed else "shell-history-untimed",
            show(item.path),
            distribution=names[0],
            version=pins[names[0]],
            severity=str(worst or ""),
        )


def build_timeline(result: ScanResult) -> Tuple[TimelineEvent, ...]:
    """Every timed observation of ``result``, sorted by time (then path)."""
    by_path = worst_by_path(result.findings)
    env_of = _env_of(result)
    show = path_shower(result)
    events: List[TimelineEvent] = [
        *_distributions(result, by_path, env_of, show),
        *_files(result, by_path, env_of, show),
        *_host_state(result, by_path, show),
        *_history(result, show),
    ]
    return tuple(sorted(events, key=lambda e: (e.epoch, e.path, e.timestamp_desc, e.message)))


def exposure_window(events: Tuple[TimelineEvent, ...]) -> Optional[ExposureWindow]:
    """The first and last evidence of the bad code, or ``None`` when no row is high or critical."""
    bad = [
        e for e in events if e.severity in WINDOW_SEVERITIES and e.source not in NOT_CODE_SOURCES
    ]
    if not bad:
        return None
    return ExposureWindow(bad[0].datetime, bad[-1].datetime, len(bad))


def _cells(event: TimelineEvent, host: HostCells) -> Tuple[object, ...]:
    """``event.row(host)``'s values in :data:`COLUMNS` order, without the dict."""
    return (
        event.datetime,
        event.timestamp_desc,
        event.message,
        host.name,
        host.id,
        event.source,
        event.path,
        event.environment,
        event.distribution,
        event.version,
        event.severity,
        event.sha256,
        round(event.epoch * 1_000_000),
    )


def timeline_csv(events: Tuple[TimelineEvent, ...], host: HostCells) -> str:
    """Timesketch CSV of ``host``'s events."""
    return csv_text(COLUMNS, (_cells(e, host) for e in events))


def timeline_csv_chunks(events: Tuple[TimelineEvent, ...], host: HostCells) -> Iterator[str]:
    """:func:`timeline_csv` in pieces (the same text)."""
    return csv_chunks(COLUMNS, (_cells(e, host) for e in events))


def timeline_jsonl(events: Tuple[TimelineEvent, ...], host: HostCells) -> str:
    """Timesketch JSONL: one object per line."""
    return "".join(timeline_jsonl_chunks(events, host))


def timeline_jsonl_chunks(events: Tuple[TimelineEvent, ...], host: HostCells) -> Iterator[str]:
    """:func:`timeline_jsonl` in pieces (the same text)."""
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=True).encode
    for block in blocks(events):
        yield "".join([dumps(printable_tree(e.row(host))) + "\n" for e in block])
