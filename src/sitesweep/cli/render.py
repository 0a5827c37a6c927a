"""How a result looks in the terminal: verdict, findings by severity, environments, gaps."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Optional, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sitesweep.bundle.report import verdict
from sitesweep.engine import ScanResult
from sitesweep.model import Severity

if TYPE_CHECKING:  # the writer (jinja2) is imported by the pipeline only when it writes
    from sitesweep.bundle.writer import BundlePaths

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


_PATHS_SHOWN = 5
"""Paths listed per finding in the terminal; a planted million-row RECORD must not hang it."""


def _paths_cell(paths: Sequence[str]) -> str:
    shown = list(paths[:_PATHS_SHOWN])
    if len(paths) > _PATHS_SHOWN:
        shown.append(f"... {len(paths) - _PATHS_SHOWN} more in findings.json")
    return "\n".join(shown)


def render_result(
    console: Console, result: ScanResult, threshold: Severity, bundle: Optional[BundlePaths]
) -> None:
    """Print the verdict, the findings table, environment counts and coverage gaps."""
    hits = result.at_least(threshold)
    style = "bold red" if hits else "bold green"
    console.print(f"[{style}]{escape(verdict(result, threshold))}[/]")
    if result.findings:
        table = Table(title="Findings", show_lines=False, expand=False)
        for column in ("severity", "title", "path", "environment"):
            table.add_column(column, overflow="fold")
        for f in result.findings:
            table.add_row(
                f"[{_STYLE[f.severity]}]{f.severity}[/]",
                escape(f.title),
                escape(_paths_cell(f.paths)),
                escape(f.environment or ""),
            )
        console.print(table)
    inv = result.inventory
    kinds = Counter(str(e.kind) for e in inv.environments)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
    console.print(
        f"Environments: {len(inv.environments)} ({escape(summary)}); "
        f"{len(inv.distributions)} distributions; {inv.dirs_walked} directories walked"
    )
    if result.gaps:
        console.print(f"[yellow]Coverage gaps: {len(result.gaps)}[/]")
        reasons = Counter(str(g.reason) for g in result.gaps)
        for reason, count in sorted(reasons.items()):
            console.print(f"  {count:5d} {reason}")
        for gap in result.gaps[:10]:
            console.print(f"  [dim]{escape(str(gap.path or '-'))}: {escape(gap.detail)}[/]")
        if len(result.gaps) > 10:
            console.print(f"  [dim]... {len(result.gaps) - 10} more in coverage.json[/]")
    if bundle is not None and bundle.encrypted:
        console.print(f"Encrypted bundle (age; no plaintext kept): {escape(str(bundle.archive))}")
    elif bundle is not None:
        console.print(f"Bundle: {escape(str(bundle.directory))} and {escape(bundle.archive.name)}")
