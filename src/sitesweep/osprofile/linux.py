"""Linux: identity from ``/etc`` (os-release, NAME/VERSION_ID fallbacks) and passwd accounts."""

from __future__ import annotations

from typing import List, Tuple

from sitesweep.host.identity import HostIdentity, User, os_release, read_identity, read_users
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap
from sitesweep.osprofile.model import OsFamily, OsInfo


def identify(root: HostRoot, gaps: List[Gap]) -> Tuple[HostIdentity, OsInfo]:
    """Host names and the distribution's name and version."""
    identity = read_identity(root, gaps)
    fields, path = os_release(root, [])  # read_identity already recorded its gaps
    name = fields.get("NAME") or fields.get("ID")
    version = fields.get("VERSION_ID") or fields.get("VERSION")
    return identity, OsInfo(OsFamily.LINUX, name, version, fields.get("BUILD_ID"), path)


def accounts(root: HostRoot, gaps: List[Gap]) -> Tuple[User, ...]:
    """``/etc/passwd`` (read up to a cap when oversized)."""
    return read_users(root, gaps)
