"""Terminal views of a fleet: the live sweep progress and the fleet table (rich, on stderr)."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict
from types import TracebackType
from typing import IO, Optional, Tuple, Type

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgressBar
from rich.table import Table

from sitesweep.cli.console import SafeConsole, safe, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.fleet.hosts import Host
from sitesweep.fleet.summary import FleetSummary, HostRow, fleet_doc
from sitesweep.fleet.sweep import HostResult, HostStatus
from sitesweep.outcome import Verdict
from sitesweep.textsafe import printable

_STYLE = {
    "compromised": "bold red",
    "incomplete": "yellow",
    "unchecked": "yellow",
    "clean": "green",
}


class SweepProgress:
    """Hosts done / failed / running, updated from the sweep's worker threads."""

    def __init__(self, total: int, console: Console = stderr) -> None:
        """Prepare a bar for ``total`` hosts."""
        self._lock = threading.Lock()
        self._running = 0
        self._failed = 0
        self._bar = RichProgressBar(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("sweep", total=total, note="")

    def __enter__(self) -> SweepProgress:
        """Start drawing."""
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Stop drawing."""
        self._bar.stop()

    def event(self, host: Host, result: Optional[HostResult]) -> None:
        """Record a host starting (``result`` None) or ending."""
        with self._lock:
            if result is None:
                self._running += 1
            else:
                self._running -= 1
                self._failed += result.status != HostStatus.OK
                self._bar.console.print(
                    f"{safe(host.name)}: {safe(result.status.value)} {safe(result.detail)}",
                    style="red" if result.status != HostStatus.OK else None,
                    highlight=False,
                )
            note = f"running {self._running}, failed {self._failed}"
            self._bar.update(self._task, advance=0 if result is None else 1, note=note)


_COLUMNS = (
    "host", "verdict", "sweep", "worst", "releases", "environments", "rotate", "gaps", "detail"
)  # fmt: skip


def render_fleet(console: Console, summary: FleetSummary, noun: str = "host") -> None:
    """Print the fleet table and the verdict line (``noun``: what a row is, host or image)."""
    title = "sitesweep fleet report" if noun == "host" else f"sitesweep {noun}s"
    table = Table(title=title, show_lines=False)
    for column in _COLUMNS:
        short = column in ("verdict", "sweep", "worst", "gaps")
        table.add_column(column, overflow="fold", no_wrap=short, ratio=None if short else 1)
    for row in summary.rows:
        table.add_row(
            safe(row.name),
            f"[{_STYLE.get(row.verdict, 'default')}]{safe(row.verdict)}[/]",
            safe(row.status),
            safe(row.worst),
            "\n".join(safe(v) for v in row.releases),
            "\n".join(safe(v) for v in row.environments),
            "\n".join(safe(v) for v in row.rotate),
            str(row.gaps + len(row.reduced)),
            safe("; ".join(filter(None, (row.detail, *row.incomplete)))),
        )
    console.print(table)
    line = fleet_line(summary, noun)
    console.print(line, style=_LINE_STYLE[summary.verdict()], highlight=False)


_LINE_STYLE = {
    Verdict.COMPROMISED: "bold red",
    Verdict.INCOMPLETE: "bold yellow",
    Verdict.UNCHECKED: "bold yellow",
    Verdict.CLEAN: "bold green",
}


def fleet_line(summary: FleetSummary, noun: str = "host") -> str:
    """The fleet's verdict in one line, with the hosts (or images: ``noun``) per verdict."""
    if noun != "host":
        return _host_line(summary).replace("host", noun)
    return _host_line(summary)


def _host_line(summary: FleetSummary) -> str:
    counts = ", ".join(f"{k}: {v}" for k, v in summary.counts().items())
    verdict = summary.verdict()
    total = len(summary.rows)
    if not total:
        return "UNCHECKED: 0 hosts: no bundle and no sweep journal found, nothing was checked"
    if verdict is Verdict.COMPROMISED:
        bad = len(summary.compromised())
        return f"COMPROMISED: {bad} of {total} host(s): contain, rotate, rebuild ({counts})"
    if verdict is Verdict.CLEAN:
        return f"CLEAN: all {total} host(s) checked completely, nothing found ({counts})"
    return (
        f"{verdict.value.upper()}: nothing found, but not every host was checked completely: "
        f"{total} host(s) ({counts})"
    )


def exit_code(summary: FleetSummary) -> ExitCode:
    """1 for indicators anywhere; 3 when any host is unchecked or incomplete (or there is
    none); 0 only when every host was checked completely and is clean."""
    verdict = summary.verdict()
    if verdict is Verdict.COMPROMISED:
        return ExitCode.FINDINGS
    return ExitCode.OK if verdict is Verdict.CLEAN else ExitCode.INCOMPLETE


_ROW_FIELDS = (
    "name", "hostname", "verdict", "status", "worst", "findings", "gaps", "detail", "releases"
)  # fmt: skip
"""The columns of a row in csv and in the pipe form (``releases`` joined with ``; ``)."""


def _cells(row: HostRow) -> Tuple[object, ...]:
    values = (getattr(row, name) for name in _ROW_FIELDS)
    return tuple("; ".join(v) if isinstance(v, tuple) else v for v in values)


def _record(*fields: object) -> str:
    return "\t".join(printable(f) for f in fields)


def emit_fleet(
    summary: FleetSummary,
    output_format: str,
    stream: Optional[IO[str]] = None,
    noun: str = "host",
) -> None:
    """Print the fleet's results on stdout in ``output_format`` (text, json, jsonl or csv).

    text on a terminal: the table and the verdict line; into a pipe: one tab-separated record
    per line (``verdict``, then ``host`` and each host's ``rotate`` items), values escaped.
    """
    out = stream if stream is not None else sys.stdout
    if output_format == "json":
        out.write(json.dumps(fleet_doc(summary), indent=2, sort_keys=True) + "\n")
    elif output_format == "jsonl":
        out.writelines(json.dumps(asdict(r), sort_keys=True) + "\n" for r in summary.rows)
    elif output_format == "csv":
        from sitesweep.exports.common import csv_text

        out.write(csv_text(_ROW_FIELDS, (_cells(r) for r in summary.rows)))
    elif out.isatty():
        render_fleet(SafeConsole(file=out, soft_wrap=True, highlight=False), summary, noun)
    else:
        lines = [
            "\t".join(
                printable(v) for v in ("verdict", summary.verdict(), fleet_line(summary, noun))
            )
        ]
        for row in summary.rows:
            lines.append("\t".join(printable(v) for v in ("host", *_cells(row))))
            lines += ["\t".join(printable(v) for v in ("rotate", row.name, r)) for r in row.rotate]
        out.write("".join(line + "\n" for line in lines))
    out.flush()
