"""``sitesweep --version``: the version, the tool's own hash and the packs loaded.

Kept apart from ``self-check`` (which reads the installed RECORD through ``importlib.metadata``)
so that the eager ``--version`` option costs only the packs it lists.
"""

from __future__ import annotations

from typing import List

import click

from sitesweep import __version__
from sitesweep.bundle.custody import tool_digest
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.errors import PackError
from sitesweep.packs import load_packs


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
