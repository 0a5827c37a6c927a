"""Homes found by walking their parent directories, and merged with the account database's.

An account database can be padded, unreadable or (on a Windows drive) absent; the directories
under ``/home``, ``/Users`` ... are homes all the same, so every profile also walks them.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Sequence, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.identity import User
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath

AREA = "accounts"
MAX_WALKED_HOMES = 10_000
"""Directories taken as homes per parent (a hostile tree can hold millions)."""


def walk_homes(
    root: HostRoot,
    parents: Sequence[str],
    skip: FrozenSet[str],
    gaps: List[Gap],
    owner_ids: bool = True,
) -> List[User]:
    """Every directory directly under ``parents`` (not a link, not hidden, not in ``skip``).

    Its uid is the directory's owner (``owner_ids``), else -1 (a Windows drive's owners say
    nothing about accounts).
    """
    found: List[User] = []
    for parent in parents:
        try:
            entries = root.listdir(parent)
        except HostReadError as exc:
            if exc.reason is not GapReason.VANISHED:
                gaps.append(Gap(AREA, HostPath(parent), exc.reason, exc.detail))
            continue
        names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
        names = [n for n in names if n.lower() not in skip]
        if len(names) > MAX_WALKED_HOMES:
            detail = f"{len(names)} directories; the first {MAX_WALKED_HOMES} taken as homes"
            gaps.append(Gap(AREA, HostPath(parent), GapReason.TOO_LARGE, detail))
            names = names[:MAX_WALKED_HOMES]
        for name in names:
            home = f"{parent.rstrip('/')}/{name}"
            uid = _owner(root, home) if owner_ids else -1
            found.append(User(name, uid, home, source="home-walk"))
    return found


def _owner(root: HostRoot, path: str) -> int:
    try:
        return root.lstat(path).uid
    except HostReadError:
        return -1


def merge(*groups: Iterable[User]) -> Tuple[User, ...]:
    """Accounts from every source, one per home (the first source wins), ordered by uid, the
    account database's entry before a walked home of the same uid."""
    by_home: Dict[str, User] = {}
    for group in groups:
        for user in group:
            by_home.setdefault(user.home.rstrip("/") or "/", user)
    return tuple(sorted(by_home.values(), key=_order))


def _order(user: User) -> Tuple[int, bool, str, str]:
    return (user.uid, user.source == "home-walk", user.name, user.home)
