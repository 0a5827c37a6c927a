"""Package caches: wheels and sdists that a reinstall would bring back (observation only).

pip, uv, poetry and conda keep downloaded and built packages under each user's home (and in a
conda base's ``pkgs/``). An affected release left there comes back on the next install, offline
and without touching the index. This module lists what those caches hold: by file name where the
tool keeps real names, and by the archive's own ``*.dist-info/`` members where pip's HTTP cache
stores bodies under hashed names. Archives are hashed and their member names listed, never
extracted; nothing in them is run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from sitesweep.budget import SPARSE_MIN, hash_file, is_sparse
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostEntry, HostRoot
from sitesweep.metadata.archives import (
    ArchiveError,
    NameVersion,
    identify,
    interesting_members,
    list_zip,
    parse_conda_filename,
    parse_dist_info_dirname,
    parse_sdist_filename,
    parse_wheel_filename,
    sniff,
)
from sitesweep.model import Gap, GapReason, HostPath, StrEnum
from sitesweep.parsing import guarded

AREA = "caches"

HOME_CACHES: Tuple[Tuple[str, str, bool], ...] = (
    (".cache/pip/http-v2", "pip", True),
    (".cache/pip/http", "pip", True),
    (".cache/pip/wheels", "pip", False),
    (".cache/uv", "uv", False),
    (".cache/pypoetry/cache", "poetry", True),
    (".cache/pypoetry/artifacts", "poetry", False),
    (".conda/pkgs", "conda", False),
)
"""(path under a home, tool, whether bodies are stored under hashed names and must be sniffed)."""

LIST_LIMIT = 64 << 20
"""Archives up to this size are read whole to list their members; larger ones are only hashed."""

MAX_ENTRIES = 200_000
"""Directory entries looked at per cache before the walk stops (recorded as a gap)."""

MAX_DEPTH = 12

SNIFF_SUFFIXES = (".body", ".http")
"""Files sniffed for archive content in any cache (pip http-v2 bodies, uv HTTP entries)."""


class ArtifactKind(StrEnum):
    """What a cache entry is."""

    WHEEL = "wheel"
    SDIST = "sdist"
    CONDA = "conda"
    HTTP_BODY = "http-body"
    UNPACKED = "unpacked"
    CACHE_ENTRY = "cache-entry"


@dataclass(frozen=True)
class CachedArtifact:
    """A package found in a cache.

    Attributes:
        path: the cache file (or unpacked directory).
        tool: whose cache (pip, uv, poetry, conda).
        kind: how it is stored.
        name: canonical distribution name, when the file name or a ``*.dist-info/`` member says.
        version: version string, likewise.
        sha256: content hash (``None`` for directories and unreadable files; a gap says why).
        size: size in bytes (0 for directories).
        members: member names of interest: ``*.dist-info/`` directories and ``.pth`` files.
    """

    path: HostPath
    tool: str
    kind: ArtifactKind
    name: Optional[str]
    version: Optional[str]
    sha256: Optional[str]
    size: int
    members: Tuple[str, ...] = ()


def _classify(filename: str, tool: str) -> Tuple[Optional[ArtifactKind], Optional[NameVersion]]:
    if filename.endswith(".whl"):
        return ArtifactKind.WHEEL, parse_wheel_filename(filename)
    if tool == "conda" and filename.endswith((".conda", ".tar.bz2")):
        return ArtifactKind.CONDA, parse_conda_filename(filename)
    found = parse_sdist_filename(filename)
    if found is not None:
        return ArtifactKind.SDIST, found
    stem, dot, _ = filename.rpartition(".")
    if dot and tool == "uv":
        entry = parse_wheel_filename(stem)
        if entry is not None:
            return ArtifactKind.CACHE_ENTRY, entry
    return None, None


class _CacheWalker:
    """Walks one cache directory and records what it holds."""

    def __init__(
        self, root: HostRoot, tool: str, http: bool, hash_limit: int, gaps: List[Gap]
    ) -> None:
        self.root = root
        self.hash_limit = hash_limit
        self.tool = tool
        self.http = http
        self.gaps = gaps
        self.found: List[CachedArtifact] = []
        self.entries = 0

    def gap(self, path: str, reason: GapReason, detail: str) -> None:
        self.gaps.append(Gap(AREA, HostPath(path), reason, detail))

    def walk(self, top: str) -> None:
        stack = [(top, 0)]
        while stack:
            directory, depth = stack.pop()
            try:
                entries = self.root.listdir(directory)
            except HostReadError as exc:
                self.gap(directory, exc.reason, exc.detail)
                continue
            self.entries += len(entries)
            if self.entries > MAX_ENTRIES:
                self.gap(top, GapReason.TOO_LARGE, f"more than {MAX_ENTRIES} entries; walk stopped")
                return
            unpacked = guarded(
                AREA, directory, self.gaps, False, self._unpacked, directory, entries, depth == 0
            )
            for entry in entries:
                path = f"{directory.rstrip('/')}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if not unpacked and depth < MAX_DEPTH:
                        stack.append((path, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    guarded(AREA, path, self.gaps, None, self._file, path, entry.name)

    def _unpacked(self, directory: str, entries: Sequence[HostEntry], top_level: bool) -> bool:
        """Record unpacked ``*.dist-info`` (and conda package) dirs; return whether any was."""
        hit = False
        for entry in entries:
            name = entry.name
            if not entry.is_dir(follow_symlinks=False):
                continue
            found = parse_dist_info_dirname(name)
            if found is None and self.tool == "conda" and top_level:
                found = parse_conda_filename(name)
            if found is not None:
                path = HostPath(f"{directory.rstrip('/')}/{name}")
                self.found.append(
                    CachedArtifact(path, self.tool, ArtifactKind.UNPACKED, *found, None, 0)
                )
                hit = hit or name.endswith(".dist-info")
        return hit

    def _file(self, path: str, filename: str) -> None:
        kind, found = _classify(filename, self.tool)
        if kind is None and not (self.http or filename.endswith(SNIFF_SUFFIXES)):
            return
        try:
            info = self.root.lstat(path)
            if info.size >= SPARSE_MIN and _sparse(self.root.stat_result(path)):
                detail = f"sparse file: {info.size} bytes, far fewer allocated; not read"
                self.gap(path, GapReason.SPARSE_FILE, detail)
                return
            if info.size > LIST_LIMIT:
                self._large(path, kind, found)
                return
            data = self.root.read_bytes(path, LIST_LIMIT)
        except HostReadError as exc:
            self.gap(path, exc.reason, exc.detail)
            return
        fmt = sniff(data)
        if kind is None:
            if fmt is None:
                return  # an index page or a header file, not a package
            kind = ArtifactKind.HTTP_BODY
        members: Tuple[str, ...] = ()
        if fmt in ("zip", "zip-embedded") and kind is not ArtifactKind.CONDA:
            try:
                members = interesting_members(list_zip(data))
            except ArchiveError as exc:
                self.gap(path, GapReason.PARSE_ERROR, str(exc))
        found = found or identify(members)
        sha256 = hashlib.sha256(data).hexdigest()
        self._add(path, kind, found, sha256, len(data), members)

    def _large(self, path: str, kind: Optional[ArtifactKind], found: Optional[NameVersion]) -> None:
        """Hash a file too large to list; an unnamed one also gets a gap (members not read)."""
        try:
            digest = hash_file(self.root, path, self.hash_limit)
        except HostReadError as exc:
            self.gap(path, exc.reason, exc.detail)
            return
        if kind is None:
            kind = ArtifactKind.HTTP_BODY
            self.gap(path, GapReason.TOO_LARGE, f"larger than {LIST_LIMIT} bytes; members not read")
        self._add(path, kind, found, digest.sha256, digest.size, ())

    def _add(
        self,
        path: str,
        kind: ArtifactKind,
        found: Optional[NameVersion],
        sha256: str,
        size: int,
        members: Tuple[str, ...],
    ) -> None:
        name, version = found if found is not None else (None, None)
        self.found.append(
            CachedArtifact(HostPath(path), self.tool, kind, name, version, sha256, size, members)
        )


def _sparse(st: os.stat_result) -> bool:
    return is_sparse(st.st_size, getattr(st, "st_blocks", st.st_size // 512 + 1))


def cache_locations(
    homes: Iterable[str], conda_bases: Iterable[str]
) -> List[Tuple[str, str, bool]]:
    """Return (host path, tool, sniff bodies) for every cache to look at.

    Args:
        homes: home directories (``/root`` is always added).
        conda_bases: prefixes of conda base installations (their ``pkgs/`` is a cache).
    """
    every = sorted({h.rstrip("/") for h in homes if h not in ("", "/")} | {"/root"})
    found = [(f"{home}/{rel}", tool, http) for home in every for rel, tool, http in HOME_CACHES]
    found.extend((f"{base.rstrip('/')}/pkgs", "conda", False) for base in sorted(set(conda_bases)))
    return found


def _confined(root: HostRoot, path: str, gaps: List[Gap]) -> Optional[HostPath]:
    """Resolve symlinks in a cache path inside the root; ``None`` when absent or not a dir."""
    try:
        host = root.resolve_host(path)
        info = root.lstat(host)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
        return None
    return host if info.mode & 0o170000 == 0o040000 else None


def collect_caches(
    root: HostRoot,
    homes: Iterable[str],
    conda_bases: Iterable[str],
    hash_limit: int,
    gaps: List[Gap],
) -> Tuple[CachedArtifact, ...]:
    """List the packages held in every pip, uv, poetry and conda cache on the host.

    Args:
        root: the scanned host.
        homes: home directories; each one's caches are looked at (``/root`` always).
        conda_bases: prefixes of conda base installations.
        hash_limit: largest file hashed; larger ones become gaps.
        gaps: where unreadable entries are recorded.
    """
    found: List[CachedArtifact] = []
    done: Set[str] = set()
    for path, tool, http in cache_locations(homes, conda_bases):
        top = _confined(root, path, gaps)
        if top is None or top in done:
            continue
        done.add(top)
        walker = _CacheWalker(root, tool, http, hash_limit, gaps)
        walker.walk(top)
        found.extend(walker.found)
    return tuple(sorted(found, key=lambda a: a.path))
