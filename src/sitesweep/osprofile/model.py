"""The vocabulary of the OS layer: which OS a scanned tree holds, and how it writes paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Optional

from sitesweep.model import StrEnum


class OsFamily(StrEnum):
    """The operating system of the scanned tree, told from its own files."""

    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    UNKNOWN = "unknown"


KNOWN_OSES: FrozenSet[OsFamily] = frozenset({OsFamily.LINUX, OsFamily.MACOS, OsFamily.WINDOWS})
"""Every operating system the scanner has a profile for."""


class PathStyle(StrEnum):
    """How the scanned host writes its paths (observations always hold POSIX host paths)."""

    POSIX = "posix"
    """``/home/alice/.venv``: as stored."""
    WINDOWS = "windows"
    """``C:\\Users\\alice\\.venv``: the root is the system drive, separators are backslashes."""


@dataclass(frozen=True)
class OsInfo:
    """The scanned tree's operating system, as its own files say (recorded in the inventory).

    Attributes:
        family: linux, macos, windows or unknown.
        name: the product name (``Ubuntu``, ``macOS``, ``Windows 11 Pro``), if read.
        version: its version (``22.04``, ``14.4.1``, ``23H2``), if read.
        build: a build number (``23E224``, ``22631``), if read.
        evidence: the host path that told the OS (``None``: the running platform, or unknown).
        path_style: how paths are written for a human (see :func:`sitesweep.osprofile.paths`).
        drive: the drive letter the root stands for (Windows only).
    """

    family: OsFamily = OsFamily.UNKNOWN
    name: Optional[str] = None
    version: Optional[str] = None
    build: Optional[str] = None
    evidence: Optional[str] = None
    path_style: PathStyle = PathStyle.POSIX
    drive: str = "C:"
