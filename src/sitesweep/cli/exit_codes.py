"""Exit codes are part of the interface: scripts branch on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    """The scan completed; no finding at or above ``--fail-on``."""
    FINDINGS = 1
    """Indicators found at or above ``--fail-on``."""
    ERROR = 2
    """The scan could not run: usage error, invalid pack, unwritable output."""
    INCOMPLETE = 3
    """Nothing found, but not everything was checked: a fleet with unchecked or incomplete
    hosts (issue 17), never to be read as clean."""
    INTERRUPTED = 130
    """Ctrl-C: the shell's own convention for SIGINT, never confused with 'found'."""
