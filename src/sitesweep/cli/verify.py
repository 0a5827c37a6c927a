"""``sitesweep verify``: recompute every hash a bundle's manifest lists."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from sitesweep.bundle.verify import verify_bundle
from sitesweep.cli.console import safe, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.params import identity_option


@click.command()
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@identity_option
def verify(bundle: Path, identity: Optional[Path]) -> int:
    """Check a bundle (directory, .tar.gz or .tar.gz.age) against its manifest.

    Exit 0 when every listed file is present and unchanged and nothing was added, 1 naming each
    altered, missing or extra file, 2 when the bundle cannot be read at all.
    """
    result = verify_bundle(bundle, identity)
    for label, names in (
        ("altered", result.altered),
        ("missing", result.missing),
        ("extra", result.extra),
    ):
        for name in names:
            stderr.print(f"[bold red]{label}[/]: {safe(name)}", soft_wrap=True, highlight=False)
    stderr.print(f"manifest.json sha256: {result.manifest_sha256}", highlight=False)
    if result.intact:
        stderr.print(f"[bold green]intact[/]: {result.checked} files match the manifest")
        return ExitCode.OK
    problems = len(result.altered) + len(result.missing) + len(result.extra)
    stderr.print(f"[bold red]NOT INTACT[/]: {problems} problem(s) in {result.checked} listed files")
    return ExitCode.FINDINGS
