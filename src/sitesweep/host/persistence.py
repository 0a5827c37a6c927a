"""Collect every file at a persistence location, for the system and for every home.

The locations are data, one catalogue per OS (:mod:`sitesweep.host.persistence_catalogue`), so a
reviewer can audit coverage without reading logic. Files are read as data through
:class:`HostRoot` (bounded, regular files only); links are recorded with their stored target,
never followed out of the root. A file that cannot be read as its format is still recorded (name,
hash) and its problem is a gap.
"""

from __future__ import annotations

import hashlib
import stat
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from sitesweep.budget import hash_file
from sitesweep.errors import HostReadError
from sitesweep.host.commandline import programs_of, split_windows
from sitesweep.host.identity import User
from sitesweep.host.locations import confine, expand, homes, is_dir, is_link, lstat_quiet
from sitesweep.host.model import PersistenceEntry, PersistenceKind
from sitesweep.host.persistence_catalogue import (
    LINUX,
    Location,
    RegistryLocation,
    catalogue,
    registry,
)
from sitesweep.host.persistence_parse import MAX_ITEMS, Parsed, clip_command, parse
from sitesweep.hostfs import FileInfo, HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.parsing import guarded

AREA = "persistence"
READ_LIMIT = 1 << 20
"""Persistence files larger than this are hashed but not parsed."""

LOCATIONS: Tuple[Location, ...] = LINUX
"""The Linux catalogue (kept under its old name; see :func:`catalogue` for every OS)."""

__all__ = ["LOCATIONS", "Location", "catalogue", "collect_persistence"]


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
        self.listings: Dict[str, Dict[str, str]] = {}

    def gap(self, path: str, exc: HostReadError) -> None:
        self.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))

    def readable_homes(self) -> None:
        """Drop homes that cannot be listed (one gap each); absent homes are dropped silently."""
        kept = []
        for name, home in self.homes:
            try:
                self.root.listdir(self.root.resolve_host(home))
            except HostReadError as exc:
                if exc.reason is not GapReason.VANISHED:
                    self.gap(home, exc)
                continue
            kept.append((name, home))
        self.homes = tuple(kept)

    def home_of(self, scope: str) -> Optional[str]:
        return dict(self.homes).get(scope)

    def location(self, loc: Location) -> None:
        for scope, path in expand(loc.path, self.homes):
            if loc.fold_case:
                found = self.folded(path)
                if found is None:
                    continue
                path = found
            if loc.depth:
                self.directory(loc, scope, path, loc.depth)
            else:
                self.file(loc.kind, scope, path, loc.context)

    def folded(self, path: str) -> Optional[str]:
        """``path`` with each component spelt as on disk, matched without regard to case."""
        current = ""
        for part in path.strip("/").split("/"):
            names = self.listings.get(current)
            if names is None:
                try:
                    real = self.root.resolve_host(current or "/")
                    entries = self.root.listdir(real)
                except HostReadError as exc:
                    if exc.reason is not GapReason.VANISHED:
                        self.gap(current or "/", exc)
                    names = {}
                else:
                    names = {}
                    for entry in entries:
                        names.setdefault(entry.name.casefold(), entry.name)
                        names[entry.name] = entry.name
                self.listings[current] = names
            spelt = names.get(part) or names.get(part.casefold())
            if spelt is None:
                return None
            current = f"{current}/{spelt}"
        return current or "/"

    def directory(self, loc: Location, scope: str, path: str, depth: int) -> None:
        try:
            real = self.root.resolve_host(path)
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
                    self.directory(loc, scope, child, depth - 1)
                continue
            if loc.suffixes and not entry.name.lower().endswith(loc.suffixes):
                continue
            self.record(loc.kind, scope, info, loc.context)

    def file(
        self, kind: PersistenceKind, scope: str, path: str, context: bool = False
    ) -> Optional[PersistenceEntry]:
        info = lstat_quiet(self.root, path, AREA, self.gaps)
        if info is None or is_dir(info):
            return None
        return self.record(kind, scope, info, context)

    def record(
        self, kind: PersistenceKind, scope: str, info: FileInfo, context: bool = False
    ) -> Optional[PersistenceEntry]:
        try:
            real = confine(self.root, info.path)
        except HostReadError:
            real = info.path
        if real in self.seen:
            return None
        self.seen.add(real)
        target: Optional[str] = None
        digest: Optional[str] = None
        parsed = Parsed()
        if is_link(info):
            target = self._readlink(info.path)
        elif stat.S_ISREG(info.mode):
            digest, parsed = self._read(kind, info)
        else:
            self.gaps.append(Gap(AREA, info.path, GapReason.SPECIAL_FILE, "not a regular file"))
        if parsed.problem:
            self.gaps.append(Gap(AREA, info.path, GapReason.PARSE_ERROR, parsed.problem))
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
            label=parsed.label or _default_label(kind, info.path),
            description=parsed.description,
            triggers=parsed.triggers,
            programs=self.programs(parsed, scope),
            context=context,
        )
        self.entries.append(entry)
        return entry

    def programs(self, parsed: Parsed, scope: str) -> Tuple[HostPath, ...]:
        """Host paths of what the entry runs, for its user (a task's account when it names one)."""
        home = self.home_of(scope)
        if parsed.run_as:
            account = parsed.run_as.rsplit("\\", 1)[-1].casefold()
            home = next((h for n, h in self.homes if n.casefold() == account), home)
        found: List[HostPath] = []
        for argv in parsed.argv:
            for path in programs_of(argv, home, parsed.windows, parsed.working_dir):
                if path not in found:
                    found.append(path)
        return tuple(found)

    def _readlink(self, path: str) -> Optional[str]:
        try:
            return self.root.readlink(path)
        except HostReadError as exc:
            self.gap(path, exc)
            return None

    def _read(self, kind: PersistenceKind, info: FileInfo) -> Tuple[Optional[str], Parsed]:
        try:
            if info.size > READ_LIMIT:
                return hash_file(self.root, info.path, self.hash_limit).sha256, Parsed()
            data = self.root.read_bytes(info.path, READ_LIMIT)
        except HostReadError as exc:
            self.gap(info.path, exc)
            return None, Parsed()
        parsed = guarded(
            AREA, info.path, self.gaps, Parsed(), parse, kind, data, info.path, self.names
        )
        return hashlib.sha256(data).hexdigest(), parsed

    def registry(self, loc: RegistryLocation) -> None:
        """One entry per value of each ``Run``-like key of the hive (every home's for ``~/``)."""
        from sitesweep.osprofile.hive import open_hive  # regipy: only for Windows hives

        for scope, path in expand(loc.hive, self.homes):
            found = self.folded(path)
            info = lstat_quiet(self.root, found, AREA, self.gaps) if found else None
            if found is None or info is None or not stat.S_ISREG(info.mode):
                continue
            hive = open_hive(self.root, found, AREA, self.gaps)
            if hive is None:
                continue
            prefix = loc.prefix if scope == "system" else f"HKU\\{scope}"
            home = self.home_of(scope)
            for key in loc.keys:
                values = hive.values(key)
                for name in sorted(values)[:MAX_ITEMS]:
                    data = values[name]
                    command = data.rstrip("\0") if isinstance(data, str) else None
                    if not command:
                        continue
                    self.entries.append(
                        PersistenceEntry(
                            path=info.path,
                            kind=PersistenceKind.REGISTRY_RUN,
                            scope=scope,
                            uid=info.uid,
                            mode=info.mode,
                            mtime=info.mtime,
                            size=info.size,
                            sha256=None,  # the hive is not copied: it holds far more than this
                            commands=(clip_command(command),),
                            copyable=False,
                            label=name or "(Default)",
                            programs=programs_of(split_windows(command), home, windows=True),
                            key=f"{prefix}\\{key}",
                        )
                    )

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


_LABELLED = (
    PersistenceKind.STARTUP_FOLDER,
    PersistenceKind.SCHEDULED_TASK,
    PersistenceKind.LAUNCHD,
)


def _default_label(kind: PersistenceKind, path: str) -> Optional[str]:
    """A task's or a Startup item's name is its file name (a launchd job without ``Label`` too)."""
    return path.rsplit("/", 1)[-1] if kind in _LABELLED else None


def collect_persistence(
    root: HostRoot,
    users: Sequence[User],
    indicator_paths: FrozenSet[str] = frozenset(),
    credential_names: FrozenSet[str] = frozenset(),
    hash_limit: int = 256 << 20,
    os_name: Optional[str] = None,
) -> Tuple[Tuple[PersistenceEntry, ...], Tuple[Gap, ...]]:
    """Read every persistence location of the host's OS, for the system and every home.

    Args:
        root: the scanned host.
        users: accounts from ``/etc/passwd`` (``/root`` is always added).
        indicator_paths: persistence paths named by the packs (``~/`` = every home).
        credential_names: environment variable names the packs say are stolen; a file assigning
            one is not copied into the bundle.
        hash_limit: largest file hashed.
        os_name: ``linux``, ``macos`` or ``windows``; ``None`` (not known) reads every OS's
            catalogue.

    Returns:
        The entries, sorted by path, and the gaps (unreadable homes, files and directories).
    """
    collector = _Collector(root, users, credential_names, hash_limit)
    collector.readable_homes()
    for loc in catalogue(os_name):
        collector.location(loc)
    for hive_loc in registry(os_name):
        collector.registry(hive_loc)
    collector.python_startups()
    collector.indicator_paths(indicator_paths)
    entries = sorted(
        collector.entries, key=lambda e: (e.path, e.kind.value, e.key or "", e.label or "")
    )
    return tuple(entries), tuple(collector.gaps)
