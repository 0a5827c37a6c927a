"""Tell the operating system of a scanned tree from its own files (never from the scanner's OS).

The probes are a table: the first OS whose marker exists wins (names matched without regard to
case: a mounted NTFS or APFS volume keeps whatever case the OS wrote). A live scan whose files say
nothing falls back on the running system's platform.
"""

from __future__ import annotations

import sys
from typing import Optional, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.osprofile.model import OsFamily

MARKERS: Tuple[Tuple[OsFamily, str], ...] = (
    (OsFamily.WINDOWS, "/Windows/System32/config"),
    (OsFamily.MACOS, "/System/Library/CoreServices/SystemVersion.plist"),
    (OsFamily.LINUX, "/etc/os-release"),
    (OsFamily.LINUX, "/usr/lib/os-release"),
    (OsFamily.WINDOWS, "/Windows/System32"),
    (OsFamily.MACOS, "/private/var/db/dslocal"),
    (OsFamily.LINUX, "/etc/passwd"),
    (OsFamily.LINUX, "/etc/debian_version"),
    (OsFamily.LINUX, "/etc/redhat-release"),
    (OsFamily.LINUX, "/etc/alpine-release"),
)
"""(OS, host path whose existence says so), strongest evidence first."""

_PLATFORMS = (("linux", OsFamily.LINUX), ("darwin", OsFamily.MACOS), ("win32", OsFamily.WINDOWS))


def detect_family(root: HostRoot) -> Tuple[OsFamily, Optional[str]]:
    """Return the tree's OS and the host path that told it (``None`` for the running platform)."""
    for family, path in MARKERS:
        if _exists(root, path):
            return family, path
    if root.is_live:
        for prefix, family in _PLATFORMS:
            if sys.platform.startswith(prefix):
                return family, None
    return OsFamily.UNKNOWN, None


def _exists(root: HostRoot, path: str) -> bool:
    try:
        root.lstat(find_ci(root, path))
    except HostReadError:
        return False
    return True


def find_ci(root: HostRoot, path: str) -> str:
    """``path`` as it is spelled on the drive (each part matched without regard to case).

    The path as given when it exists or no spelling matches (the caller then meets it absent).
    """
    try:
        root.lstat(path)
        return path
    except HostReadError:
        pass
    current = ""
    for part in (p for p in path.split("/") if p):
        try:
            names = [e.name for e in root.listdir(current or "/")]
        except HostReadError:
            return path
        match = next((n for n in names if n.lower() == part.lower()), None)
        if match is None:
            return path
        current = f"{current}/{match}"
    return current or path
