"""``sitesweep self-check``: can the responder trust this tool? (``--version``: cli/version.py)"""

from __future__ import annotations

import click

from sitesweep.cli.console import stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.selfcheck import SelfCheck, SelfCheckStatus, run_self_check
from sitesweep.textsafe import printable

_SHOWN = 20


def _paths(label: str, paths: tuple[str, ...]) -> None:
    if not paths:
        return
    stderr.print(f"{label} ({len(paths)}):", style="bold red")
    for path in paths[:_SHOWN]:
        stderr.print(printable(f"  {path}"), markup=False, highlight=False, soft_wrap=True)
    if len(paths) > _SHOWN:
        stderr.print(f"  ... and {len(paths) - _SHOWN} more")


def _render(check: SelfCheck) -> None:
    stderr.print(printable(f"sitesweep {check.version}"), markup=False, highlight=False)
    stderr.print(printable(f"tool sha256:   {check.tool_sha256}"), markup=False, highlight=False)
    stderr.print(
        printable(f"RECORD sha256: {check.record_sha256 or '-'}"), markup=False, highlight=False
    )
    stderr.print(printable(f"package:       {check.package_dir}"), markup=False, soft_wrap=True)
    if check.status is SelfCheckStatus.UNVERIFIABLE:
        stderr.print(printable(f"CANNOT VERIFY: {check.reason}"), style="bold yellow", markup=False)
        return
    _paths("MODIFIED", check.modified)
    _paths("MISSING", check.missing)
    _paths("UNLISTED", check.unlisted)
    _paths("MODIFIED BYTECODE", check.modified_bytecode)
    stderr.print(
        f"{check.verified} files match RECORD; {check.verified_bytecode} bytecode files match "
        f"their verified source; {check.unverified_bytecode} bytecode files of other "
        "interpreters (never loaded by this one)"
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
