"""RECORD integrity: hash every file a distribution's RECORD lists and compare (observation only).

A wheel's RECORD holds each installed file's hash (``sha256=<urlsafe base64, no padding>``) and
size. A file that differs, is gone, or sits unlisted inside the distribution's own top-level
packages was changed after installation. The collector only measures; the check
(:mod:`sitesweep.checks.integrity`) judges. Caveat (iocs.md section 1.4): the litellm attacker
rebuilt the wheel and regenerated RECORD, so a clean verification says "unchanged since install",
not "benign".
"""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass
from typing import AbstractSet, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from sitesweep.budget import Allowance, budget_of, hash_file
from sitesweep.door.base import KEPT_DIR, PackageListing, listing_of
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.model import DistFormat, Distribution, HostFile, RecordEntry
from sitesweep.model import Gap, GapReason, HostPath

AREA = "integrity"

READ_LIMIT = 64 << 20
"""Files verified with an algorithm other than SHA-256 are read whole; larger ones are gaps."""

MAX_MISSING_LISTED = 50
"""Missing paths a bundle's inventory and a finding list per distribution (the first by path);
the rest are counted (:attr:`RecordVerification.missing_more`)."""

MAX_UNLISTED_ENTRIES = 100_000
"""Directory entries looked at per distribution when searching for unlisted files."""

HASH_ALGORITHMS = frozenset(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake_"))
"""RECORD hash algorithms that can be verified (variable-length SHAKE digests cannot)."""

_SKIP_TOP_LEVELS = ("__pycache__", "..", ".")


@dataclass(frozen=True)
class ModifiedFile:
    """A RECORD-listed file whose content no longer matches.

    Attributes:
        file: the file as found (hash, size, owner, times).
        expected_hash: the RECORD hash field (``algorithm=value``).
        actual_hash: the same algorithm over the file on disk, in RECORD's notation.
        expected_size: the RECORD size, if given.
    """

    file: HostFile
    expected_hash: str
    actual_hash: str
    expected_size: Optional[int]


@dataclass(frozen=True)
class SkippedEntry:
    """A RECORD row that was not verified, and why."""

    entry: str
    reason: str


@dataclass(frozen=True)
class RecordVerification:
    """What RECORD verification found for one distribution.

    Attributes:
        distribution: the ``.dist-info`` directory.
        site_dir: the site dir it is installed in.
        name: canonical distribution name.
        version: version string as installed.
        top_levels: its own top-level package directories in the site dir.
        verified: rows whose file was hashed and matched.
        unhashed: rows without a hash (RECORD's own row, often ``*.pyc``): not verified.
        modified: listed files whose hash or size differs.
        missing: listed files that are gone.
        missing_bytecode: listed ``__pycache__/*.pyc`` files that are gone (image slimming does
            that; not a sign of tampering).
        unlisted: files inside ``top_levels`` that no RECORD of the site dir lists (compiled
            ``__pycache__/*.pyc`` excepted).
        skipped: rows not verified (outside the environment, unknown algorithm).
        reused: verified rows whose file is a file this scan had hashed already (the same
            device, inode, size and modification time: a hard link, as uv installs from its
            cache): its hash was reused, the file not read again. A copy is another file and
            is hashed.
        missing_more: missing files beyond those ``missing`` lists: a bundle lists the first
            :data:`MAX_MISSING_LISTED` by path and counts the rest here (a forged RECORD of
            absent files made 50,000 paths per distribution); ``0`` in a scan.
    """

    distribution: HostPath
    site_dir: HostPath
    name: str
    version: str
    top_levels: Tuple[str, ...]
    verified: int
    unhashed: int
    modified: Tuple[ModifiedFile, ...] = ()
    missing: Tuple[HostPath, ...] = ()
    missing_bytecode: int = 0
    unlisted: Tuple[HostFile, ...] = ()
    skipped: Tuple[SkippedEntry, ...] = ()
    reused: int = 0
    missing_more: int = 0

    @property
    def missing_count(self) -> int:
        """How many listed files are gone (bytecode apart), listed or not."""
        return len(self.missing) + self.missing_more

    @property
    def has_mismatch(self) -> bool:
        """Return whether any file was modified, missing or unlisted."""
        return bool(self.modified or self.missing or self.unlisted)


def _normal(path: str) -> str:
    """``posixpath.normpath`` of ``path``, without the call when ``path`` has nothing it would
    change (no empty, ``.`` or ``..`` component, no final ``/``): most RECORD rows."""
    if not path or "//" in path or "/." in path or path[0] == "." or path[-1] == "/":
        return posixpath.normpath(path)
    return path


def is_bytecode(rel: str) -> bool:
    """Return whether a site-relative path is compiled bytecode in a ``__pycache__``."""
    return rel.endswith(".pyc") and "/__pycache__/" in f"/{rel}"


def record_b64(digest: bytes) -> str:
    """Encode a digest as RECORD does: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def top_levels(root: HostRoot, dist: Distribution) -> Tuple[str, ...]:
    """Return the first path components of RECORD rows that are real directories in the site dir."""
    site = dist.site_dir.rstrip("/")
    names = {
        e.path.split("/", 1)[0] for e in dist.record if "/" in e.path and not e.path.startswith("/")
    }
    found: List[str] = []
    for name in sorted(names):
        if name in _SKIP_TOP_LEVELS or name.endswith((".dist-info", ".egg-info", ".data")):
            continue
        try:
            info = root.lstat(f"{site}/{name}")
        except HostReadError:
            continue
        if stat.S_ISDIR(info.mode):
            found.append(name)
    return tuple(found)


class _Verifier:
    """Verifies one distribution; accumulates results and gaps."""

    def __init__(
        self, root: HostRoot, dist: Distribution, prefix: str, hash_limit: int, gaps: List[Gap]
    ) -> None:
        self.root = root
        self.dist = dist
        self.site = dist.site_dir.rstrip("/")
        self.prefix = prefix.rstrip("/") or "/"
        self.hash_limit = hash_limit
        self.gaps = gaps
        self.verified = 0
        self.unhashed = 0
        self.missing_bytecode = 0
        self.modified: List[ModifiedFile] = []
        self.missing: List[HostPath] = []
        self.skipped: List[SkippedEntry] = []
        self.allowance = Allowance()
        self.budget = budget_of(root)
        self.reused = 0
        self.stopped: Optional[HostReadError] = None
        """The budget error that ended the verification (the rest of RECORD is unverified)."""

    def host_path(self, rel: str) -> Optional[str]:
        """Resolve a RECORD path against the site dir; ``None`` when it leaves the prefix."""
        joined = rel if rel.startswith("/") else f"{self.site}/{rel}"
        path = _normal(joined)
        inside = self.prefix == "/" or path == self.prefix or path.startswith(self.prefix + "/")
        return path if inside else None

    def check(self, entry: RecordEntry) -> None:
        algorithm, _, expected = entry.hash.partition("=")
        if not expected:
            self.unhashed += 1
            return
        algorithm = algorithm.lower()
        if algorithm not in HASH_ALGORITHMS:
            self.skipped.append(SkippedEntry(entry.path, f"unknown hash algorithm {algorithm!r}"))
            return
        path = self.host_path(entry.path)
        if path is None:
            self.skipped.append(SkippedEntry(entry.path, "outside the environment prefix"))
            return
        try:
            size, sha256, info, actual = self.measure(path, algorithm)
        except HostReadError as exc:
            if exc.reason is GapReason.BUDGET:
                self.stopped = exc
            elif exc.reason is GapReason.VANISHED:
                if is_bytecode(entry.path):
                    self.missing_bytecode += 1
                else:
                    self.missing.append(HostPath(path))
            else:
                self.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
            return
        if actual == expected and (entry.size is None or entry.size == size):
            self.verified += 1
            return
        file = HostFile(HostPath(path), size, sha256, info.st_mtime, info.st_mode, info.st_uid)
        self.modified.append(
            ModifiedFile(file, f"{algorithm}={expected}", f"{algorithm}={actual}", entry.size)
        )

    def measure(self, path: str, algorithm: str) -> Tuple[int, Optional[str], os.stat_result, str]:
        """Hash a file; return its size, its SHA-256, its ``lstat`` and its digest in
        ``algorithm`` (a :class:`HostFile` is made of them only for a file that differs).

        A symlink is not followed (its target could be any file of the host, such as
        ``/etc/shadow``, which must not end up hashed or copied as this package's evidence).
        """
        info = self.root.stat_result(path)  # the one lstat: hash_file opens what it saw
        if stat.S_ISLNK(info.st_mode):
            return info.st_size, None, info, "(symlink)"
        if algorithm == "sha256":
            before = self.budget.reused
            digest = hash_file(self.root, path, self.hash_limit, self.allowance, info)
            self.reused += self.budget.reused - before
            sha256, size = digest.sha256, digest.size
            actual = record_b64(bytes.fromhex(sha256))
        else:
            data = self.root.read_bytes(path, min(READ_LIMIT, self.hash_limit))
            sha256, size = hashlib.sha256(data).hexdigest(), len(data)
            actual = record_b64(hashlib.new(algorithm, data).digest())
        return size, sha256, info, actual


def _iter_unlisted(
    root: HostRoot,
    site: str,
    top: str,
    listed: AbstractSet[str],
    gaps: List[Gap],
    listings: Mapping[str, PackageListing],
) -> Iterable[str]:
    """Yield site-relative paths of files under ``top`` that no RECORD lists.

    A directory the walk kept whole (``listings``) is not listed again.
    """
    stack = [top]
    seen = 0
    while stack:
        rel_dir = stack.pop()
        kept = listings.get(f"{site}/{rel_dir}")
        if kept is None or len(kept[1]) != kept[0]:  # not kept, or not whole
            try:
                kept = listing_of(root.listdir(f"{site}/{rel_dir}"))
            except HostReadError as exc:
                gaps.append(Gap(AREA, HostPath(f"{site}/{rel_dir}"), exc.reason, exc.detail))
                continue
        for name, kind in zip(kept[1], kept[2]):
            seen += 1
            if seen > MAX_UNLISTED_ENTRIES:
                detail = f"more than {MAX_UNLISTED_ENTRIES} entries; unlisted-file search stopped"
                gaps.append(Gap(AREA, HostPath(f"{site}/{top}"), GapReason.TOO_LARGE, detail))
                return
            rel = f"{rel_dir}/{name}"
            if kind == KEPT_DIR:
                stack.append(rel)
            elif rel not in listed and not is_bytecode(rel):
                yield rel


def _unlisted_files(
    root: HostRoot,
    site: str,
    tops: Tuple[str, ...],
    listed: AbstractSet[str],
    hash_limit: int,
    gaps: List[Gap],
    allowance: Allowance,
    listings: Mapping[str, PackageListing],
) -> Tuple[HostFile, ...]:
    files: List[HostFile] = []
    for top in tops:
        for rel in _iter_unlisted(root, site, top, listed, gaps, listings):
            path = HostPath(f"{site}/{rel}")
            try:
                info = root.stat_result(path)
            except HostReadError as exc:
                gaps.append(Gap(AREA, path, exc.reason, exc.detail))
                continue
            size, sha256 = info.st_size, None
            mtime, mode, uid = info.st_mtime, info.st_mode, info.st_uid
            if stat.S_ISLNK(mode):  # recorded, never followed (see _Verifier.measure)
                files.append(HostFile(path, size, None, mtime, mode, uid))
                continue
            try:
                digest = hash_file(root, path, hash_limit, allowance, info)
                size, sha256 = digest.size, digest.sha256
            except HostReadError as exc:
                gaps.append(Gap(AREA, path, exc.reason, exc.detail))
            files.append(HostFile(path, size, sha256, mtime, mode, uid))
    return tuple(files)


MAX_VERIFIED_ROWS = 50_000
"""A real RECORD has at most a few tens of thousands of rows; a forged one of millions of rows
naming absent files would otherwise cost a stat, a gap and a path for each."""


_Rows = Tuple[RecordEntry, ...]


class _RowFacts:
    """What verification asks of a RECORD's rows, once per distinct rows tuple (identical
    RECORD files share one: :mod:`sitesweep.metadata.distinfo`), for one :func:`verify_records`.

    Kept per rows tuple: the first components of its relative paths, as written (targets are
    named by them) and normalised (what the unlisted-file search compares): a few names each.
    """

    def __init__(self) -> None:
        self._facts: Dict[int, Tuple[_Rows, FrozenSet[str], FrozenSet[str]]] = {}

    def _of(self, rows: _Rows) -> Tuple[_Rows, FrozenSet[str], FrozenSet[str]]:
        facts = self._facts.get(id(rows))
        if facts is None or facts[0] is not rows:  # the tuple kept: its id is not reused
            written = frozenset(e.path.split("/", 1)[0] for e in rows if "/" in e.path)
            normal = frozenset(
                _normal(e.path).split("/", 1)[0] for e in rows if not e.path.startswith("/")
            )
            facts = self._facts[id(rows)] = (rows, written, normal)
        return facts

    def firsts(self, rows: _Rows) -> FrozenSet[str]:
        """First components of the rows' paths as written (those with a ``/``)."""
        return self._of(rows)[1]

    def by_first(self, site_dists: Iterable[Distribution]) -> Dict[str, List[Distribution]]:
        """The site's distributions by the normalised first components their RECORDs list
        (what :meth:`listed_under` looks up: one pass over the site, not one per distribution)."""
        index: Dict[str, List[Distribution]] = {}
        for dist in site_dists:
            for first in self._of(dist.record)[2]:
                index.setdefault(first, []).append(dist)
        return index

    def listed_under(
        self, by_first: Mapping[str, List[Distribution]], tops: Iterable[str]
    ) -> Set[str]:
        """Every normalised site-relative path the RECORDs of the site (``by_first``, from
        :meth:`by_first`) list below ``tops`` (and more: every path of a RECORD listing anything
        there)."""
        seen: Set[int] = set()
        listed: Set[str] = set()
        for top in frozenset(tops):
            for dist in by_first.get(top, ()):
                if id(dist) not in seen:
                    seen.add(id(dist))
                    listed.update(
                        _normal(e.path) for e in dist.record if not e.path.startswith("/")
                    )
        return listed


def verify_distribution(
    root: HostRoot,
    dist: Distribution,
    prefix: str,
    listed: AbstractSet[str],
    hash_limit: int,
    gaps: List[Gap],
    listings: Optional[Mapping[str, PackageListing]] = None,
    tops: Optional[Tuple[str, ...]] = None,
) -> RecordVerification:
    """Verify one distribution's RECORD against the files on disk.

    Args:
        root: the scanned host.
        dist: a ``.dist-info`` distribution with its RECORD rows.
        prefix: its environment's prefix; RECORD rows resolving outside it are skipped.
        listed: every site-relative path listed by any RECORD of the same site dir (so files of a
            namespace package shared with other distributions are not called unlisted).
        hash_limit: largest file hashed; larger ones become gaps.
        gaps: where unreadable files are recorded.
        listings: directories the walk kept (whole ones are not listed again).
        tops: :func:`top_levels` of ``dist``, when the caller has them.
    """
    verifier = _Verifier(root, dist, prefix, hash_limit, gaps)
    seen: Set[str] = set()
    repeated = 0
    for number, entry in enumerate(dist.record[:MAX_VERIFIED_ROWS]):
        key = _normal(entry.path)
        if key in seen:  # a row listed again is the same file: verified once
            repeated += 1
            continue
        seen.add(key)
        verifier.check(entry)
        if verifier.stopped is not None:
            left = min(len(dist.record), MAX_VERIFIED_ROWS) - number - 1
            detail = f"{verifier.stopped.detail}: verification stopped, {left} rows not verified"
            gaps.append(Gap(AREA, dist.path, GapReason.BUDGET, detail))
            break
    if repeated:
        verifier.skipped.append(
            SkippedEntry(f"{repeated} repeated rows", "listed more than once; verified once")
        )
    if len(dist.record) > MAX_VERIFIED_ROWS:
        detail = (
            f"RECORD lists {len(dist.record)} rows; the first {MAX_VERIFIED_ROWS} were verified"
        )
        gaps.append(Gap(AREA, dist.path, GapReason.TOO_LARGE, detail))
    if tops is None:
        tops = top_levels(root, dist)
    unlisted = _unlisted_files(
        root, verifier.site, tops, listed, hash_limit, gaps, verifier.allowance, listings or {}
    )
    return RecordVerification(
        distribution=dist.path,
        site_dir=dist.site_dir,
        name=dist.name,
        version=dist.version,
        top_levels=tops,
        verified=verifier.verified,
        unhashed=verifier.unhashed,
        modified=tuple(sorted(verifier.modified, key=lambda m: m.file.path)),
        missing=tuple(sorted(verifier.missing)),
        missing_bytecode=verifier.missing_bytecode,
        unlisted=unlisted,
        skipped=tuple(verifier.skipped),
        reused=verifier.reused,
    )


def _is_target(
    root: HostRoot, dist: Distribution, targets: FrozenSet[str], facts: _RowFacts
) -> bool:
    if dist.name in targets:
        return True
    return bool(facts.firsts(dist.record) & targets) and bool(set(top_levels(root, dist)) & targets)


def verify_records(
    root: HostRoot,
    dists: Iterable[Distribution],
    prefixes: Mapping[HostPath, str],
    targets: FrozenSet[str],
    verify_all: bool,
    hash_limit: int,
    gaps: List[Gap],
    listings: Optional[Mapping[str, PackageListing]] = None,
) -> Tuple[RecordVerification, ...]:
    """Verify the RECORD of every targeted distribution (of every one with ``verify_all``).

    Args:
        root: the scanned host.
        dists: installed distributions (egg-info ones have no RECORD and are passed over).
        prefixes: site dir -> environment prefix.
        targets: canonical names and top-level package names always verified.
        verify_all: verify every distribution.
        hash_limit: largest file hashed.
        gaps: where unreadable files are recorded.
        listings: directories the walk kept (whole ones are not listed again).
    """
    dist_infos = [d for d in dists if d.format is DistFormat.DIST_INFO and d.record]
    by_site: Dict[HostPath, List[Distribution]] = {}
    for dist in dist_infos:
        by_site.setdefault(dist.site_dir, []).append(dist)
    results: List[RecordVerification] = []
    facts = _RowFacts()
    for site, site_dists in by_site.items():
        chosen = [d for d in site_dists if verify_all or _is_target(root, d, targets, facts)]
        prefix = prefixes.get(site) or posixpath.dirname(site)
        by_first = facts.by_first(site_dists) if chosen else {}
        for dist in chosen:
            # what the site's RECORDs list below this one's packages (a namespace package's
            # other distributions included), not every path of the site dir
            tops = top_levels(root, dist)
            listed = facts.listed_under(by_first, tops)
            results.append(
                verify_distribution(
                    root, dist, prefix, listed, hash_limit, gaps, listings, tops=tops
                )
            )
    return tuple(sorted(results, key=lambda r: r.distribution))
