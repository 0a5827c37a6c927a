"""In-process CLI invocation for tests: exit code plus captured stdout and stderr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class CliRun:
    """What one CLI invocation returned and printed."""

    code: int
    out: str
    err: str


RunCli = Callable[..., CliRun]
"""``run_cli("scan", "--root", ...)`` -> CliRun."""
