"""Tell the operating system of a scanned tree from its own files (never from the scanner's OS).

The probes are a table: the first OS whose marker exists wins. A live scan whose files say nothing
falls back on the running system's platform.
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
        root.lstat(path)
    except HostReadError:
        return False
    return True
