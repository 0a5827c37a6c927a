"""Who the host is and who uses it, read from files under the scan root."""

from __future__ import annotations

import platform
import re
import socket
from dataclasses import dataclass
from typing import List, Optional, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath

SMALL_FILE_LIMIT = 1 << 20
"""Identity and account files are small; anything larger is refused as hostile."""

_UID = re.compile(r"[0-9]{1,10}")
"""ASCII digits only: str.isdigit() accepts "²", which int() refuses (hostile /etc/passwd)."""


@dataclass(frozen=True)
class User:
    """An account from ``/etc/passwd``."""

    name: str
    uid: int
    home: str


@dataclass(frozen=True)
class HostIdentity:
    """What the scanned host calls itself.

    Attributes:
        hostname: from ``/etc/hostname`` (or the live kernel's name on a live scan).
        machine_id: from ``/etc/machine-id``.
        os_release: ``PRETTY_NAME`` from ``/etc/os-release``.
        kernel: the running kernel's release (live scans only).
    """

    hostname: str
    machine_id: Optional[str]
    os_release: Optional[str]
    kernel: Optional[str]


def _read(root: HostRoot, path: str, gaps: List[Gap]) -> Optional[str]:
    try:
        return root.read_text(path, SMALL_FILE_LIMIT)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:  # absent identity files are normal
            gaps.append(Gap("identity", HostPath(path), exc.reason, exc.detail))
        return None


def read_identity(root: HostRoot, gaps: List[Gap]) -> HostIdentity:
    """Read the host's names from files; a live scan also asks the running kernel."""
    hostname_file = _read(root, "/etc/hostname", gaps)
    hostname = (hostname_file or "").strip()
    if root.is_live:
        hostname = socket.gethostname() or hostname
    machine_id = (_read(root, "/etc/machine-id", gaps) or "").strip() or None
    pretty = None
    for line in (_read(root, "/etc/os-release", gaps) or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip().strip('"')
    kernel = platform.release() if root.is_live else None
    return HostIdentity(hostname or "unknown-host", machine_id, pretty, kernel)


def read_users(root: HostRoot, gaps: List[Gap]) -> Tuple[User, ...]:
    """Parse ``/etc/passwd``; ``root`` with ``/root`` is always included."""
    users = {0: User("root", 0, "/root")}
    for line in (_read(root, "/etc/passwd", gaps) or "").splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not _UID.fullmatch(fields[2]):
            continue
        uid = int(fields[2])
        users.setdefault(uid, User(fields[0], uid, fields[5] or "/"))
    return tuple(sorted(users.values(), key=lambda u: u.uid))
