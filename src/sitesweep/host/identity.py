"""Who the host is and who uses it: the types, and the Linux readers (``/etc`` files).

The macOS and Windows readers are in :mod:`sitesweep.osprofile`; every profile gives the same
:class:`HostIdentity` and :class:`User` values.
"""

from __future__ import annotations

import platform
import re
import socket
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath

SMALL_FILE_LIMIT = 1 << 20
"""Identity files are small; anything larger is refused as hostile."""
PASSWD_LIMIT = 4 << 20
"""An account database larger than this is read up to here (a gap says so), never skipped whole:
a padded ``/etc/passwd`` must not hide the homes listed in its first part."""

_UID = re.compile(r"[0-9]{1,10}")
"""ASCII digits only: str.isdigit() accepts "²", which int() refuses (hostile /etc/passwd)."""

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
"""Where a Linux tree says what it is (the first that exists wins)."""


@dataclass(frozen=True)
class User:
    """An account and its home.

    Attributes:
        name: the account name (on Windows, the profile directory's name).
        uid: the numeric id (Windows: the SID's relative id; a walked home: its owner).
        home: the home directory, a host path.
        sid: the Windows security identifier, if any.
        source: where the account was read: ``passwd``, ``dslocal``, ``ProfileList`` or
            ``home-walk`` (a directory under ``/home``, ``/Users`` ... with no account entry).
    """

    name: str
    uid: int
    home: str
    sid: Optional[str] = None
    source: str = "passwd"


@dataclass(frozen=True)
class HostIdentity:
    """What the scanned host calls itself.

    Attributes:
        hostname: from the host's files (``/etc/hostname``, macOS preferences, the SYSTEM hive), or
            the running system's name on a live scan.
        machine_id: ``/etc/machine-id`` or Windows' ``MachineGuid``.
        os_release: the OS's pretty name and version (``Ubuntu 22.04.4 LTS``, ``macOS 14.4.1``).
        kernel: the running kernel's release (live scans only).
    """

    hostname: str
    machine_id: Optional[str]
    os_release: Optional[str]
    kernel: Optional[str]


def read_small(root: HostRoot, path: str, area: str, gaps: List[Gap]) -> Optional[str]:
    """Read a small text file; absent is ``None`` silently, any other failure is a gap."""
    try:
        return root.read_text(path, SMALL_FILE_LIMIT)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:  # absent identity files are normal
            gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
        return None


def _read(root: HostRoot, path: str, gaps: List[Gap]) -> Optional[str]:
    return read_small(root, path, "identity", gaps)


def os_release(root: HostRoot, gaps: List[Gap]) -> Tuple[Dict[str, str], Optional[str]]:
    """The fields of the first os-release file that exists, and its path."""
    for path in OS_RELEASE_FILES:
        text = _read(root, path, gaps)
        if text is None:
            continue
        fields: Dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip().isidentifier():
                fields[key.strip()] = value.strip().strip("\"'")
        return fields, path
    return {}, None


def pretty_name(fields: Dict[str, str]) -> Optional[str]:
    """``PRETTY_NAME``, else ``NAME VERSION`` / ``NAME VERSION_ID``, else ``NAME``."""
    if fields.get("PRETTY_NAME"):
        return fields["PRETTY_NAME"]
    name = fields.get("NAME")
    version = fields.get("VERSION") or fields.get("VERSION_ID")
    if name and version:
        return f"{name} {version}"
    return name or None


def live_hostname(fallback: str) -> str:
    """The running system's host name, else ``fallback``."""
    return socket.gethostname() or fallback


def read_identity(root: HostRoot, gaps: List[Gap]) -> HostIdentity:
    """Read a Linux host's names from files; a live scan also asks the running kernel."""
    hostname = (_read(root, "/etc/hostname", gaps) or "").strip()
    if root.is_live:
        hostname = live_hostname(hostname)
    machine_id = (_read(root, "/etc/machine-id", gaps) or "").strip() or None
    fields, _ = os_release(root, gaps)
    kernel = platform.release() if root.is_live else None
    return HostIdentity(hostname or "unknown-host", machine_id, pretty_name(fields), kernel)


def _read_capped(root: HostRoot, path: str, limit: int, area: str, gaps: List[Gap]) -> str:
    """Read ``path`` whole, or its first ``limit`` bytes when larger (and a gap says so)."""
    try:
        return root.read_text(path, limit)
    except HostReadError as exc:
        if exc.reason is GapReason.VANISHED:
            return ""
        if exc.reason is not GapReason.TOO_LARGE:
            gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
            return ""
    try:
        with root.open_nofollow(path) as handle:
            size = handle.size
            data = handle.read(limit)
    except HostReadError as exc:
        gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
        return ""
    detail = f"{size} bytes: the first {len(data)} read, the rest not (homes are also walked)"
    gaps.append(Gap(area, HostPath(path), GapReason.TOO_LARGE, detail))
    text = data.decode("utf-8", "surrogateescape")
    return text.rpartition("\n")[0]  # the last line may be cut


def read_users(root: HostRoot, gaps: List[Gap]) -> Tuple[User, ...]:
    """Parse ``/etc/passwd`` (up to :data:`PASSWD_LIMIT`); ``root`` with ``/root`` always."""
    users = {0: User("root", 0, "/root")}
    for line in _read_capped(root, "/etc/passwd", PASSWD_LIMIT, "identity", gaps).splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not _UID.fullmatch(fields[2]):
            continue
        uid = int(fields[2])
        users.setdefault(uid, User(fields[0], uid, fields[5] or "/"))
    return tuple(sorted(users.values(), key=lambda u: u.uid))
