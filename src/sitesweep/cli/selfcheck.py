"""``sitesweep self-check`` and ``sitesweep --version``: can the responder trust this tool?"""

from __future__ import annotations

from typing import List

import click

from sitesweep import __version__
from sitesweep.bundle.custody import tool_digest
from sitesweep.cli.console import stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.errors import PackError
from sitesweep.packs import load_packs
from sitesweep.selfcheck import SelfCheck, SelfCheckStatus, run_self_check

_SHOWN = 20


def version_lines() -> List[str]:
    """The ``--version`` text: version, tool hash, and every pack loaded (or why none loaded)."""
    lines = [f"sitesweep {__version__}", f"tool sha256: {tool_digest()}"]
    try:
        packs = load_packs()
    except PackError as exc:
        return [*lines, f"packs: could not be loaded ({len(exc.problems)} problem(s))"]
    lines.append(f"packs ({len(packs.packs)}):")
    lines += [f"  {p.id} {p.version} sha256:{p.sha256}" for p in packs.packs]
    return lines


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """Eager ``--version`` callback: print the version block on stdout and exit 0."""
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(version_lines()))
    ctx.exit(ExitCode.OK)


def _paths(label: str, paths: tuple[str, ...]) -> None:
    if not paths:
        return
    stderr.print(f"{label} ({len(paths)}):", style="bold red")
    for path in paths[:_SHOWN]:
        stderr.print(f"  {path}", markup=False, highlight=False, soft_wrap=True)
    if len(paths) > _SHOWN:
        stderr.print(f"  ... and {len(paths) - _SHOWN} more")


def _render(check: SelfCheck) -> None:
    stderr.print(f"sitesweep {check.version}", markup=False, highlight=False)
    stderr.print(f"tool sha256:   {check.tool_sha256}", markup=False, highlight=False)
    stderr.print(f"RECORD sha256: {check.record_sha256 or '-'}", markup=False, highlight=False)
    stderr.print(f"package:       {check.package_dir}", markup=False, soft_wrap=True)
    if check.status is SelfCheckStatus.UNVERIFIABLE:
        stderr.print(f"CANNOT VERIFY: {check.reason}", style="bold yellow", markup=False)
        return
    _paths("MODIFIED", check.modified)
    _paths("MISSING", check.missing)
    _paths("UNLISTED", check.unlisted)
    stderr.print(
        f"{check.verified} files match RECORD; {check.unverified_bytecode} bytecode files "
        "have no hash in RECORD (not verified)"
    )
    verdict = "OK" if check.status is SelfCheckStatus.OK else "TAMPERED"
    stderr.print(verdict, style="bold green" if verdict == "OK" else "bold red")


@click.command("self-check")
def self_check() -> int:
    """Verify this sitesweep's own installed files against its RECORD and print its hash."""
    check = run_self_check()
    _render(check)
    click.echo(check.tool_sha256)
    return {
        SelfCheckStatus.OK: ExitCode.OK,
        SelfCheckStatus.TAMPERED: ExitCode.FINDINGS,
        SelfCheckStatus.UNVERIFIABLE: ExitCode.ERROR,
    }[check.status]
