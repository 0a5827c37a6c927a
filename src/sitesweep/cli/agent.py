"""``sitesweep build-agent``: the deployable collector for sweeps and single suspect hosts."""

from __future__ import annotations

from pathlib import Path

import click

from sitesweep.cli.console import stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.fleet.agent_build import build_agent as build
from sitesweep.textsafe import printable


@click.command("build-agent")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write the agent zipapp to (e.g. agent.pyz).",
)
def build_agent(output: Path) -> int:
    """Build the agent: run it on a target as `python3 -I -S agent.pyz collect --output DIR`."""
    artifact = build(output)
    stderr.print(printable(f"Agent: {artifact.path}"), markup=False, soft_wrap=True)
    stderr.print(printable(f"SHA-256: {artifact.sha256}"), markup=False)
    return ExitCode.OK
