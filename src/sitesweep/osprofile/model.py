"""The vocabulary of the OS layer: which operating system a scanned tree holds."""

from __future__ import annotations

from typing import FrozenSet

from sitesweep.model import StrEnum


class OsFamily(StrEnum):
    """The operating system of the scanned tree, told from its own files."""

    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    UNKNOWN = "unknown"


KNOWN_OSES: FrozenSet[OsFamily] = frozenset({OsFamily.LINUX, OsFamily.MACOS, OsFamily.WINDOWS})
"""Every operating system the scanner has a profile for."""
