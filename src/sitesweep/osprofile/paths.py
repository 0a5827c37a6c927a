"""How a host path is written for a human: the one function every renderer calls.

Observations hold host paths in POSIX form (``/Users/alice/AppData/...``) whatever the OS, so the
checks, the evidence index and ``analyze`` compare them one way. Only when a path is shown (the
findings file, the report, the timeline, the SBOM, the terminal) is it written as the scanned host
writes it: on Windows ``C:\\Users\\alice\\AppData\\...``. Renderers call :func:`display_path` with
the inventory's :class:`~sitesweep.osprofile.model.OsInfo` and never convert paths themselves.
"""

from __future__ import annotations

from typing import Optional

from sitesweep.osprofile.model import OsInfo, PathStyle


def display_path(path: str, os: Optional[OsInfo]) -> str:
    """Write host path ``path`` as the scanned host writes it (``os``: the inventory's OS).

    A POSIX host, an unknown OS and anything that is not an absolute host path (a URL, ``~/``, a
    pack's pattern) are returned unchanged.
    """
    if os is None or os.path_style is not PathStyle.WINDOWS or not path.startswith("/"):
        return path
    return windows_path(path, os.drive)


def windows_path(path: str, drive: str = "C:") -> str:
    """``/Users/alice/x`` -> ``C:\\Users\\alice\\x`` (the root is ``drive``)."""
    rest = path.strip("/").replace("/", "\\")
    return f"{drive}\\{rest}"
