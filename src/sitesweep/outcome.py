"""The outcome of a scan: the one place a verdict is decided (issue 14 grows this module).

Every renderer (terminal, report.txt, report.html, exports, the fleet view) reads the verdict
from here and never re-derives it; judging happens in checks, summing up happens here.
"""

from __future__ import annotations

from sitesweep.model import StrEnum


class Verdict(StrEnum):
    """What a host (or a fleet) is, told with what was checked.

    The order of the members is the order of concern for a fleet roll-up: one compromised host
    makes the fleet compromised; otherwise one host not fully checked makes it incomplete.
    """

    COMPROMISED = "compromised"
    """Indicators at or above the threshold were found."""
    INCOMPLETE = "incomplete"
    """Nothing found, but some areas could not be checked (unreadable areas touching
    environments, reduced checks, permission gaps): never to be read as clean."""
    UNCHECKED = "unchecked"
    """The host could not be checked at all (unreachable, collector failed, bad bundle)."""
    CLEAN = "clean"
    """Checked completely and nothing at or above the threshold was found."""
