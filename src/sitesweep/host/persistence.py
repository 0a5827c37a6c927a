"""Collect every file at a persistence location, for the system and for every home.

The locations are data (:data:`LOCATIONS`) so a reviewer can audit coverage without reading logic.
Files are read as data through :class:`HostRoot` (bounded, regular files only); links are recorded
with their stored target, never followed out of the root.
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.identity import User
from sitesweep.host.locations import expand, homes, is_dir, is_link, lstat_quiet
from sitesweep.host.model import PersistenceEntry, PersistenceKind
from sitesweep.host.persistence_parse import Parsed, parse
from sitesweep.hostfs import FileInfo, HostRoot
from sitesweep.model import Gap, GapReason, HostPath

AREA = "persistence"
READ_LIMIT = 1 << 20
"""Persistence files larger than this are hashed but not parsed."""

K = PersistenceKind


@dataclass(frozen=True)
class Location:
    """Where to look. ``path`` starting with ``~/`` means under every home directory.

    Attributes:
        path: a file, or a directory whose entries are read.
        kind: the mechanism.
        depth: 0 for a file; for a directory, how many levels to read (systemd: 2, for
            ``*.wants/`` links and ``*.d/`` drop-ins).
    """

    path: str
    kind: PersistenceKind
    depth: int = 0


LOCATIONS: Tuple[Location, ...] = (
    # systemd: system and user units, with *.wants/ links and *.d/ drop-ins (depth 2)
    Location("/etc/systemd/system", K.SYSTEMD, 2),
    Location("/usr/lib/systemd/system", K.SYSTEMD, 2),
    Location("/lib/systemd/system", K.SYSTEMD, 2),
    Location("/etc/systemd/user", K.SYSTEMD, 2),
    Location("/usr/lib/systemd/user", K.SYSTEMD, 2),
    Location("~/.config/systemd/user", K.SYSTEMD, 2),
    Location("~/.local/share/systemd/user", K.SYSTEMD, 2),
    # cron, anacron, at
    Location("/etc/crontab", K.CRON),
    Location("/etc/cron.d", K.CRON, 1),
    Location("/etc/cron.hourly", K.CRON, 1),
    Location("/etc/cron.daily", K.CRON, 1),
    Location("/etc/cron.weekly", K.CRON, 1),
    Location("/etc/cron.monthly", K.CRON, 1),
    Location("/var/spool/cron", K.CRON, 1),
    Location("/var/spool/cron/crontabs", K.CRON, 1),
    Location("/etc/anacrontab", K.ANACRON),
    Location("/var/spool/cron/atjobs", K.AT, 1),
    Location("/var/spool/at", K.AT, 1),
    # boot scripts
    Location("/etc/rc.local", K.RC_LOCAL),
    Location("/etc/rc.d/rc.local", K.RC_LOCAL),
    Location("/etc/init.d", K.INIT_D, 1),
    # shell start-up files and login environments
    Location("/etc/profile", K.SHELL),
    Location("/etc/profile.d", K.SHELL, 1),
    Location("/etc/bash.bashrc", K.SHELL),
    Location("/etc/bashrc", K.SHELL),
    Location("/etc/zsh/zshrc", K.SHELL),
    Location("/etc/zsh/zshenv", K.SHELL),
    Location("/etc/zshenv", K.SHELL),
    Location("/etc/fish/config.fish", K.SHELL),
    Location("~/.bashrc", K.SHELL),
    Location("~/.bash_profile", K.SHELL),
    Location("~/.bash_login", K.SHELL),
    Location("~/.profile", K.SHELL),
    Location("~/.zshrc", K.SHELL),
    Location("~/.zprofile", K.SHELL),
    Location("~/.zshenv", K.SHELL),
    Location("~/.config/fish/config.fish", K.SHELL),
    Location("~/.config/fish/conf.d", K.SHELL, 1),
    Location("/etc/environment", K.ENVIRONMENT),
    Location("~/.pam_environment", K.ENVIRONMENT),
    # desktop autostart and macOS launchd
    Location("~/.config/autostart", K.XDG_AUTOSTART, 1),
    Location("/etc/xdg/autostart", K.XDG_AUTOSTART, 1),
    Location("~/Library/LaunchAgents", K.LAUNCHD, 1),
    Location("/Library/LaunchAgents", K.LAUNCHD, 1),
    Location("/Library/LaunchDaemons", K.LAUNCHD, 1),
    # loader and remote access
    Location("/etc/ld.so.preload", K.LD_PRELOAD),
    Location("~/.ssh/authorized_keys", K.AUTHORIZED_KEYS),
    Location("~/.ssh/authorized_keys2", K.AUTHORIZED_KEYS),
    # package-index configuration that could redirect future installs
    Location("/etc/pip.conf", K.INDEX_CONFIG),
    Location("/etc/pip.ini", K.INDEX_CONFIG),
    Location("/etc/xdg/pip/pip.conf", K.INDEX_CONFIG),
    Location("~/.config/pip/pip.conf", K.INDEX_CONFIG),
    Location("~/.config/pip/pip.ini", K.INDEX_CONFIG),
    Location("~/.pip/pip.conf", K.INDEX_CONFIG),
    Location("~/.pip/pip.ini", K.INDEX_CONFIG),
    Location("/etc/uv/uv.toml", K.INDEX_CONFIG),
    Location("~/.config/uv/uv.toml", K.INDEX_CONFIG),
    Location("~/.pypirc", K.PYPIRC),
)
"""Every persistence location looked at (``PYTHONSTARTUP`` files and pack paths come on top)."""


class _Collector:
    def __init__(
        self, root: HostRoot, users: Sequence[User], names: FrozenSet[str], hash_limit: int
    ) -> None:
        self.root = root
        self.homes = homes(users)
        self.names = names
        self.hash_limit = hash_limit
        self.gaps: List[Gap] = []
        self.entries: List[PersistenceEntry] = []
        self.seen: Set[str] = set()
        self.dirs_seen: Set[str] = set()

    def gap(self, path: str, exc: HostReadError) -> None:
        self.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))

    def readable_homes(self) -> None:
        """Drop homes that cannot be listed (one gap each); absent homes are dropped silently."""
        kept = []
        for name, home in self.homes:
            try:
                self.root.listdir(self.root.host(self.root.resolve(home)))
            except HostReadError as exc:
                if exc.reason is not GapReason.VANISHED:
                    self.gap(home, exc)
                continue
            kept.append((name, home))
        self.homes = tuple(kept)

    def location(self, loc: Location) -> None:
        for scope, path in expand(loc.path, self.homes):
            if loc.depth:
                self.directory(loc.kind, scope, path, loc.depth)
            else:
                self.file(loc.kind, scope, path)

    def directory(self, kind: PersistenceKind, scope: str, path: str, depth: int) -> None:
        try:
            real = self.root.host(self.root.resolve(path))
            if real in self.dirs_seen:
                return
            self.dirs_seen.add(real)
            entries = self.root.listdir(real)
        except HostReadError as exc:
            if exc.reason is not GapReason.VANISHED:
                self.gap(path, exc)
            return
        for entry in entries:
            child = f"{real.rstrip('/')}/{entry.name}"
            info = lstat_quiet(self.root, child, AREA, self.gaps)
            if info is None:
                continue
            if is_dir(info):
                if depth > 1:
                    self.directory(kind, scope, child, depth - 1)
                continue
            self.record(kind, scope, info)

    def file(self, kind: PersistenceKind, scope: str, path: str) -> Optional[PersistenceEntry]:
        info = lstat_quiet(self.root, path, AREA, self.gaps)
        if info is None or is_dir(info):
            return None
        return self.record(kind, scope, info)

    def record(
        self, kind: PersistenceKind, scope: str, info: FileInfo
    ) -> Optional[PersistenceEntry]:
        if info.path in self.seen:
            return None
        self.seen.add(info.path)
        target: Optional[str] = None
        digest: Optional[str] = None
        parsed = Parsed()
        if is_link(info):
            target = self._readlink(info.path)
        elif stat.S_ISREG(info.mode):
            digest, parsed = self._read(kind, info)
        else:
            self.gaps.append(Gap(AREA, info.path, GapReason.SPECIAL_FILE, "not a regular file"))
        entry = PersistenceEntry(
            path=info.path,
            kind=kind,
            scope=scope,
            uid=info.uid,
            mode=info.mode,
            mtime=info.mtime,
            size=info.size,
            sha256=digest,
            link_target=target,
            commands=parsed.commands,
            index_urls=parsed.index_urls,
            variables=parsed.variables,
            python_startup=parsed.python_startup,
            copyable=not parsed.secret,
        )
        self.entries.append(entry)
        return entry

    def _readlink(self, path: str) -> Optional[str]:
        try:
            return self.root.readlink(path)
        except HostReadError as exc:
            self.gap(path, exc)
            return None

    def _read(self, kind: PersistenceKind, info: FileInfo) -> Tuple[Optional[str], Parsed]:
        try:
            if info.size > READ_LIMIT:
                return self.root.digest(info.path, self.hash_limit).sha256, Parsed()
            data = self.root.read_bytes(info.path, READ_LIMIT)
        except HostReadError as exc:
            self.gap(info.path, exc)
            return None, Parsed()
        return hashlib.sha256(data).hexdigest(), parse(kind, data, info.path, self.names)

    def python_startups(self) -> None:
        """Record each ``PYTHONSTARTUP`` file a shell file points at (run by interactive Python)."""
        for entry in list(self.entries):
            value = entry.python_startup
            if not value:
                continue
            home = dict(self.homes).get(entry.scope, "")
            for prefix in ("~/", "$HOME/", "${HOME}/"):
                if value.startswith(prefix) and home:
                    value = f"{home}/{value[len(prefix) :]}"
            if value.startswith("/"):
                self.file(PersistenceKind.PYTHON_STARTUP, entry.scope, value)

    def indicator_paths(self, paths: FrozenSet[str]) -> None:
        """Look up every pack-named persistence path (``~/`` under every home)."""
        for pattern in sorted(paths):
            for scope, path in expand(pattern, self.homes):
                info = lstat_quiet(self.root, path, AREA, self.gaps)
                if info is not None:
                    self.record(PersistenceKind.INDICATOR, scope, info)


def collect_persistence(
    root: HostRoot,
    users: Sequence[User],
    indicator_paths: FrozenSet[str] = frozenset(),
    credential_names: FrozenSet[str] = frozenset(),
    hash_limit: int = 256 << 20,
) -> Tuple[Tuple[PersistenceEntry, ...], Tuple[Gap, ...]]:
    """Read every persistence location for the system and every home.

    Args:
        root: the scanned host.
        users: accounts from ``/etc/passwd`` (``/root`` is always added).
        indicator_paths: persistence paths named by the packs (``~/`` = every home).
        credential_names: environment variable names the packs say are stolen; a file assigning
            one is not copied into the bundle.
        hash_limit: largest file hashed.

    Returns:
        The entries, sorted by path, and the gaps (unreadable homes, files and directories).
    """
    collector = _Collector(root, users, credential_names, hash_limit)
    collector.readable_homes()
    for loc in LOCATIONS:
        collector.location(loc)
    collector.python_startups()
    collector.indicator_paths(indicator_paths)
    entries = sorted(collector.entries, key=lambda e: (e.path, e.kind.value))
    return tuple(entries), tuple(collector.gaps)
