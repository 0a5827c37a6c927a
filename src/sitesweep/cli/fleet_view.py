"""Terminal views of a fleet: the live sweep progress and the fleet table (rich, on stderr)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Optional, Type

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgressBar
from rich.table import Table

from sitesweep.cli.console import stderr
from sitesweep.fleet.hosts import Host
from sitesweep.fleet.summary import COMPROMISED, FleetSummary
from sitesweep.fleet.sweep import HostResult, HostStatus

_STYLE = {
    "compromised": "bold red",
    "unchecked": "yellow",
    "unreadable": "yellow",
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
                    f"{escape(host.name)}: {escape(result.status.value)} {escape(result.detail)}",
                    style="red" if result.status != HostStatus.OK else None,
                    highlight=False,
                )
            note = f"running {self._running}, failed {self._failed}"
            self._bar.update(self._task, advance=0 if result is None else 1, note=note)


def render_fleet(console: Console, summary: FleetSummary) -> None:
    """Print the fleet table and the verdict line."""
    table = Table(title="sitesweep fleet report", show_lines=False)
    for column in ("host", "verdict", "sweep", "worst", "environments", "rotate", "gaps", "detail"):
        short = column in ("verdict", "sweep", "worst", "gaps")
        table.add_column(column, overflow="fold", no_wrap=short, ratio=None if short else 1)
    for row in summary.rows:
        table.add_row(
            escape(row.name),
            f"[{_STYLE.get(row.verdict, 'default')}]{escape(row.verdict)}[/]",
            escape(row.status),
            escape(row.worst),
            escape("\n".join(row.environments)),
            escape("\n".join(row.rotate)),
            str(row.gaps + len(row.reduced)),
            escape(row.detail),
        )
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in summary.counts().items())
    bad = len(summary.compromised())
    style = "bold red" if bad else "bold green"
    console.print(f"{len(summary.rows)} hosts ({counts})", style=style, highlight=False)
    if bad:
        console.print(f"{bad} host(s) {COMPROMISED}: contain, rotate, rebuild", style=style)
