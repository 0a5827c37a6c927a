"""Home directories, ``~/`` expansion and root-confined lookups shared by the host collectors."""

from __future__ import annotations

import dataclasses
import stat
from typing import List, Optional, Sequence, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.identity import User
from sitesweep.hostfs import FileInfo, HostRoot
from sitesweep.model import Gap, GapReason, HostPath


def homes(users: Sequence[User]) -> Tuple[Tuple[str, str], ...]:
    """Return (user name, home) for every account with a real home, ``/root`` always included."""
    seen = {"/root": "root"}
    for user in users:
        home = user.home.rstrip("/")
        if home and home not in seen and home != "/nonexistent":
            seen[home] = user.name
    return tuple(sorted((name, home) for home, name in seen.items()))


def expand(path: str, user_homes: Sequence[Tuple[str, str]]) -> Tuple[Tuple[str, str], ...]:
    """Expand a ``~/`` path for every home; return (scope, host path) pairs.

    An absolute path is returned once with scope ``system``.
    """
    if path.startswith("~/"):
        return tuple((name, f"{home}/{path[2:]}") for name, home in user_homes)
    return (("system", path),)


def scope_of(path: str, user_homes: Sequence[Tuple[str, str]]) -> Optional[str]:
    """Return the user whose home holds ``path`` (the deepest home), or ``None``."""
    best: Optional[Tuple[str, str]] = None
    for name, home in user_homes:
        if path.startswith(home + "/") and (best is None or len(home) > len(best[1])):
            best = (name, home)
    return best[0] if best else None


def confine(root: HostRoot, path: str) -> HostPath:
    """Resolve the parent of ``path`` inside the root (links in it followed as the host would).

    The last component is left as is, so a symlink entry is seen as the link itself.

    Raises:
        HostReadError: a symlink loop in the parent.
    """
    parent, _, name = path.rstrip("/").rpartition("/")
    resolved = root.resolve_host(parent or "/")
    return HostPath(f"{resolved.rstrip('/')}/{name}")


def lstat_quiet(root: HostRoot, path: str, area: str, gaps: List[Gap]) -> Optional[FileInfo]:
    """``lstat`` a host path; absent is ``None`` silently, any other failure is a gap."""
    try:
        info = root.lstat(confine(root, path))
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
        return None
    return dataclasses.replace(info, path=HostPath(path))


def is_dir(info: FileInfo) -> bool:
    """Return whether ``info`` is a directory (not a link to one)."""
    return stat.S_ISDIR(info.mode)


def is_link(info: FileInfo) -> bool:
    """Return whether ``info`` is a symlink."""
    return stat.S_ISLNK(info.mode)
