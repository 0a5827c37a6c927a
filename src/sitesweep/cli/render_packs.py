"""How signature packs look in the terminal: the ``list`` table and the ``show`` details."""

from __future__ import annotations

from typing import Iterable, Sequence, Tuple

from rich.console import Console
from rich.table import Table

from sitesweep.cli.console import safe, safe_text
from sitesweep.packs.describe import PackSummary
from sitesweep.packs.model import Pack


def render_pack_table(console: Console, summaries: Sequence[PackSummary]) -> None:
    """Print one row per pack: id, version, title, affected releases, indicator counts."""
    table = Table(title=f"Signature packs ({len(summaries)})", show_lines=True)
    table.add_column("id", no_wrap=True)
    table.add_column("version", no_wrap=True)
    for column in ("title", "affected", "indicators"):
        table.add_column(column, overflow="fold")
    for row in summaries:
        counts = ", ".join(f"{n} {kind}" for kind, n in row.counts() if n)
        table.add_row(
            safe(row.id),
            safe(row.version),
            safe(row.title),
            "\n".join(safe(v) for v in row.affected),
            safe(counts or "-"),
        )
    console.print(table)


def render_pack_detail(console: Console, pack: Pack) -> None:
    """Print everything a pack says, section by section."""
    console.print(f"[bold]{safe(pack.id)}[/] (version {safe(pack.version)})")
    console.print(safe(pack.title))
    console.print(f"[dim]{safe(pack.source)}  sha256 {pack.sha256}[/]", soft_wrap=True)
    if pack.window_start is not None and pack.window_end is not None:
        window = f"{pack.window_start.isoformat()} .. {pack.window_end.isoformat()}"
        console.print(f"Window: {safe(window)}")
    _section(console, "Affected", _affected_lines(pack))
    _section(console, "Files", _file_lines(pack))
    _section(console, "Artifacts", (f"{a.sha256}  {a.filename}" for a in pack.artifacts))
    _section(console, "Network", _network_lines(pack))
    _section(console, "Persistence", (f"[{p.severity}] {p.path}" for p in pack.persistence))
    _section(console, "Credentials", pack.credentials)
    _section(console, "YARA", pack.yara_files)
    _section(console, "References", pack.references)
    _section(console, "Advisories", pack.advisories)
    console.print("[bold]Remediation[/]")
    console.print(safe_text(pack.remediation.strip()), soft_wrap=True)
    if pack.playbook:
        console.print(f"Playbook: {safe(pack.playbook)}")


def _section(console: Console, title: str, lines: Iterable[str]) -> None:
    """Print a titled list; print nothing when it is empty."""
    items = list(lines)
    if not items:
        return
    console.print(f"[bold]{title}[/] ({len(items)})")
    for line in items:
        console.print(f"  {safe(line)}", soft_wrap=True)


def _affected_lines(pack: Pack) -> Tuple[str, ...]:
    """Return ``[severity] name specs - note`` per affected release."""
    return tuple(
        f"[{r.severity}] {r.name} {' || '.join(str(s) for s in r.specifiers)} - {r.note}"
        for r in pack.affected
    )


def _file_lines(pack: Pack) -> Tuple[str, ...]:
    """Return one line per file indicator: severity, where, how it matches."""
    lines = []
    for f in pack.files:
        where = " ".join(p for p in (f.name, f.site_path and f"site:{f.site_path}") if p)
        how = "by name" if f.name_is_indicator else f"{len(f.sha256)} hash(es)"
        lines.append(f"[{f.severity}] {f.id}: {where} ({how})")
    return tuple(lines)


def _network_lines(pack: Pack) -> Tuple[str, ...]:
    """Return the domains, IPs and URLs, one per line."""
    net = pack.network
    return (*net.domains, *net.ips, *net.urls)
