"""In-process CLI invocation for tests: exit code plus captured stdout and stderr."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Callable, List

import pytest


@dataclass
class CliRun:
    """What one CLI invocation returned and printed."""

    code: int
    out: str
    err: str


RunCli = Callable[..., CliRun]
"""``run_cli("scan", "--root", ...)`` -> CliRun."""


def unprivileged(argv: List[str]) -> List[str]:
    """Run ``argv`` as root without the capabilities that bypass file permissions.

    As root, ``setpriv`` drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so a mode-000 directory
    is unreadable as it would be for an ordinary account; any other user runs ``argv`` as it is.
    """
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop DAC caps")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *argv]
