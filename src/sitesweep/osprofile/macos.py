"""macOS: SystemVersion.plist, the SystemConfiguration preferences, dslocal user records.

Paths are read under ``/private`` (the firmlinked layout of a mounted system: ``/etc`` and
``/var`` are links into it), falling back on the unprefixed form for a tree copied without it.
"""

from __future__ import annotations

import plistlib
from typing import Any, Dict, List, Optional, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.identity import HostIdentity, User, live_hostname
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.osprofile.model import OsFamily, OsInfo

SYSTEM_VERSION = "/System/Library/CoreServices/SystemVersion.plist"
PREFERENCES = "/Library/Preferences/SystemConfiguration/preferences.plist"
USER_RECORDS = (
    "/private/var/db/dslocal/nodes/Default/users",
    "/var/db/dslocal/nodes/Default/users",
)
"""Local directory service user records, one binary plist per account."""
LIVE_SKIP = (
    "/System/Volumes/Data",
    "/System/Volumes/Preboot",
    "/System/Volumes/VM",
    "/System/Volumes/Update",
    "/System/Volumes/Recovery",
)
"""On a running Mac these mounts show the data volume (already walked as ``/``) or hold no
environments; a live walk skips them. A mounted image is walked whole (its layout is the
analyst's)."""
PLIST_LIMIT = 1 << 20
MAX_RECORDS = 10_000


def read_plist(root: HostRoot, path: str, area: str, gaps: List[Gap]) -> Optional[Dict[str, Any]]:
    """A plist (binary or XML) as a dict; absent is ``None``, unreadable or malformed a gap."""
    try:
        data = root.read_bytes(path, PLIST_LIMIT)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
        return None
    try:
        value = plistlib.loads(data)
    except Exception as exc:  # noqa: BLE001 - plistlib raises many types on a hostile file
        detail = f"not a property list: {type(exc).__name__}: {exc}"[:400]
        gaps.append(Gap(area, HostPath(path), GapReason.PARSE_ERROR, detail))
        return None
    return value if isinstance(value, dict) else None


def _text(value: object) -> Optional[str]:
    """A record field: a string, or the first string of an array (dslocal stores arrays)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _at(data: Optional[Dict[str, Any]], *keys: str) -> Optional[str]:
    node: object = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return _text(node)


def identify(root: HostRoot, gaps: List[Gap]) -> Tuple[HostIdentity, OsInfo]:
    """Product name, version and build; ComputerName / LocalHostName."""
    version = read_plist(root, SYSTEM_VERSION, "identity", gaps)
    prefs = read_plist(root, PREFERENCES, "identity", gaps)
    name = _at(version, "ProductName") or "macOS"
    number = _at(version, "ProductVersion")
    build = _at(version, "ProductBuildVersion")
    hostname = (
        _at(prefs, "System", "Network", "HostNames", "LocalHostName")
        or _at(prefs, "System", "System", "ComputerName")
        or ""
    )
    if root.is_live:
        hostname = live_hostname(hostname)
    pretty = f"{name} {number}" if number else name
    info = OsInfo(OsFamily.MACOS, name, number, build, SYSTEM_VERSION if version else None)
    return HostIdentity(hostname or "unknown-host", None, pretty, None), info


def accounts(root: HostRoot, gaps: List[Gap]) -> Tuple[User, ...]:
    """Every dslocal user record with a name, a uid and a home; a gap when none can be read."""
    for directory in USER_RECORDS:
        try:
            entries = root.listdir(directory)
        except HostReadError as exc:
            if exc.reason is not GapReason.VANISHED:
                gaps.append(Gap("accounts", HostPath(directory), exc.reason, exc.detail))
            continue
        names = sorted(e.name for e in entries if e.is_file() and e.name.endswith(".plist"))
        users: List[User] = []
        for name in names[:MAX_RECORDS]:
            record = read_plist(root, f"{directory}/{name}", "accounts", gaps)
            user = _user(record)
            if user is not None:
                users.append(user)
        return tuple(users)
    detail = "no readable dslocal user records: homes found by walking /Users only"
    gaps.append(Gap("accounts", HostPath(USER_RECORDS[0]), GapReason.NOT_COLLECTED, detail))
    return ()


def _user(record: Optional[Dict[str, Any]]) -> Optional[User]:
    name = _text(record.get("name")) if record else None
    home = _text(record.get("home")) if record else None
    uid = _text(record.get("uid")) if record else None
    if not name or not home or not home.startswith("/"):
        return None
    digits = uid.lstrip("-") if uid else ""
    number = int(uid or "") if digits.isascii() and digits.isdigit() and len(digits) <= 10 else -1
    return User(name, number, home, source="dslocal")
