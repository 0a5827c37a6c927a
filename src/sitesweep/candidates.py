"""Which host files get their content matched: one predicate for the scan and the bundle.

The YARA check reads these files through its content source, and the bundle writer copies the
same files as evidence, so ``analyze BUNDLE`` later matches exactly what ``scan`` matched.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import threading
import weakref
from functools import lru_cache
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple, cast

from sitesweep.inventory import Inventory
from sitesweep.metadata.model import Distribution, RecordEntry
from sitesweep.model import HostPath
from sitesweep.packs.model import PackSet

__all__ = [
    "RecordLayout",
    "RecordRows",
    "cached_candidates",
    "install_bounds",
    "pack_distribution_names",
    "persistence_candidates",
    "plain_rel",
    "record_hex",
    "record_paths",
    "record_rows",
    "yara_candidates",
]

PERSISTENCE_LIMIT = 1 << 20
"""Persistence files above this size are hashed but neither matched nor copied."""
CACHED_LIMIT = 64 << 20
"""Cached archives above this size are hashed but neither matched nor copied."""


def pack_distribution_names(packs: PackSet) -> FrozenSet[str]:
    """Canonical names of every distribution any pack lists as affected (any version)."""
    return frozenset(str(a.name) for pack in packs.packs for a in pack.affected)


@lru_cache(maxsize=1 << 16)
def record_hex(spec: str) -> Optional[str]:
    """Return the hex SHA-256 of a RECORD hash spec (``sha256=<urlsafe b64>``), or ``None``.

    Remembered (bounded): the same release in many environments repeats the same specs."""
    algorithm, _, value = spec.partition("=")
    if algorithm != "sha256" or not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


class RecordRows:
    """What one parsed RECORD gives every install that holds it, worked out once.

    Identical RECORD files share one tuple of entries (``metadata.distinfo``'s parse cache): the
    same release in 20 environments is one tuple, so what does not depend on where it is installed
    (which rows are plain relative paths, each row's decoded SHA-256) is computed once per tuple,
    and each install only joins its site dir to the rows. Each part is worked out when first
    asked: the hash checks need only ``digests`` of every RECORD, the paths (``layout``) are
    needed only for the releases a pack names.

    Attributes:
        record: the entries (held, so the cache's key, their ``id``, stays theirs).
    """

    __slots__ = ("_digests", "_layout", "record")

    def __init__(self, record: Tuple[RecordEntry, ...]) -> None:
        self.record = record
        self._digests: Optional[Tuple[str, ...]] = None
        self._layout: Optional[RecordLayout] = None

    @property
    def digests(self) -> Tuple[str, ...]:
        """The SHA-256 hex of every row that states one (a resolved row may give any of them)."""
        if self._digests is None:
            every = map(record_hex, [e.hash for e in self.record if e.hash])
            self._digests = tuple(d for d in every if d is not None)
        return self._digests

    @property
    def layout(self) -> RecordLayout:
        """The rows' paths and facts (:class:`RecordLayout`)."""
        if self._layout is None:
            self._layout = RecordLayout(self.record)
        return self._layout


class RecordLayout:
    """The rows of one RECORD as paths to join to a site dir, and their facts.

    Attributes:
        record: the entries.
        kept: the path of every row :func:`record_paths` considers (not empty, not absolute).
        odd: (index in ``kept``, path) of the rows that need lexical resolution (``..``,
            ``.``, ``//``, a trailing ``/``): their host path depends on the site dir.
        hrels, hexes, sizes: of the plain rows in ``kept`` order (a path listed twice is given
            its last row, as a path -> row mapping gives it), those whose hash is a SHA-256:
            path, SHA-256 hex, size.
        hindex: the index in ``kept`` of each of those (to merge resolved rows in order).
    """

    __slots__ = ("_last", "hexes", "hindex", "hrels", "kept", "odd", "record", "sizes")

    def __init__(self, record: Tuple[RecordEntry, ...]) -> None:
        self.record = record
        last = {e.path: e for e in record}  # a path listed twice: its last row
        kept: List[str] = []
        odd: List[Tuple[int, str]] = []
        hindex: List[int] = []
        hrels: List[str] = []
        hexes: List[str] = []
        sizes: List[Optional[int]] = []
        for entry in record:
            rel = entry.path
            if not rel or rel.startswith("/"):
                continue
            if rel[0] == "." or "/." in rel or "//" in rel or rel[-1] == "/":  # not plain_rel
                odd.append((len(kept), rel))
            else:
                row = last[rel]
                digest = record_hex(row.hash) if row.hash else None
                if digest is not None:
                    hindex.append(len(kept))
                    hrels.append(rel)
                    hexes.append(digest)
                    sizes.append(row.size)
            kept.append(rel)
        self.kept: Tuple[str, ...] = tuple(kept)
        self.odd: Tuple[Tuple[int, str], ...] = tuple(odd)
        self.hindex: Tuple[int, ...] = tuple(hindex)
        self.hrels: Tuple[str, ...] = tuple(hrels)
        self.hexes: Tuple[str, ...] = tuple(hexes)
        self.sizes: Tuple[Optional[int], ...] = tuple(sizes)
        self._last: Optional[Dict[str, RecordEntry]] = last if odd else None

    def entry(self, rel: str) -> Optional[RecordEntry]:
        """The last row listing ``rel`` (a resolved row's lookup)."""
        if self._last is None:
            self._last = {e.path: e for e in self.record}
        return self._last.get(rel)


def plain_rel(rel: str) -> bool:
    """Whether ``site + "/" + rel`` is already normal (nothing to resolve lexically)."""
    return not (rel.startswith(".") or "/." in rel or "//" in rel or rel.endswith("/"))


def row_path(head: str, rel: str) -> str:
    """The host path a RECORD row ``rel`` names below ``head`` (a site dir and its final
    ``/``), resolved lexically only when it is not already normal (:func:`plain_rel`)."""
    return head + rel if plain_rel(rel) else posixpath.normpath(head + rel)


_ROWS: Dict[int, RecordRows] = {}
ROWS_CACHE_SIZE = 1 << 12
"""Distinct RECORDs whose :class:`RecordRows` are remembered (emptied when full)."""
_ROWS_LOCK = threading.Lock()


def record_rows(record: Tuple[RecordEntry, ...]) -> RecordRows:
    """The :class:`RecordRows` of a RECORD's entries, computed once per (shared) tuple."""
    found = _ROWS.get(id(record))
    if found is not None and found.record is record:
        return found
    rows = RecordRows(record)
    with _ROWS_LOCK:
        if len(_ROWS) >= ROWS_CACHE_SIZE:
            _ROWS.clear()
        _ROWS[id(record)] = rows
    return rows


def install_bounds(dist: Distribution, inventory: Inventory) -> Tuple[str, str]:
    """(site dir without its final ``/``, the prefix every listed path must start with): the
    distribution's environment (its prefix; the site dir when no environment holds it)."""
    site = dist.site_dir.rstrip("/")
    env = inventory.environment_of(site)
    return site, (env.prefix if env else site).rstrip("/") + "/"


def record_paths(dist: Distribution, inventory: Inventory) -> Iterator[HostPath]:
    """Host paths of the files a distribution's RECORD lists (``..`` rows resolved lexically).

    Only paths inside the distribution's environment (its prefix; the site dir when no environment
    holds it) are kept: a wheel installs into its scheme directories (``bin/``, ``share/``...) and
    nowhere else, and a forged RECORD row such as ``../../../../root/.ssh/id_rsa`` must not turn a
    secret into a matched file and an evidence copy.
    """
    if not dist.record:
        return iter(())
    site, bound = install_bounds(dist, inventory)
    return iter(_paths(record_rows(dist.record).layout, site, bound))


def _paths(rows: RecordLayout, site: str, bound: str) -> List[HostPath]:
    head = site + "/"
    if not head.startswith(bound):  # never for a site dir its environment holds
        return [
            HostPath(p) for p in (row_path(head, rel) for rel in rows.kept) if p.startswith(bound)
        ]
    paths: List[Optional[str]] = list(map(head.__add__, rows.kept))  # already normal
    dropped = False
    for i, rel in rows.odd:  # "..", ".", "//": resolved lexically
        path = posixpath.normpath(head + rel)
        if path.startswith(bound):
            paths[i] = path
        else:
            paths[i] = None
            dropped = True
    if dropped:
        return [HostPath(p) for p in paths if p is not None]
    return cast(List[HostPath], paths)


def yara_candidates(inventory: Inventory, packs: PackSet) -> Tuple[HostPath, ...]:
    """Every host file whose content is matched against the packs' YARA rules, sorted.

    These are every ``.pth`` file, every ``sitecustomize``/``usercustomize`` module, every file of
    interest the inventory hashed, and every file listed in the RECORD of an installed
    distribution whose name a pack lists as affected (whatever its version: a clean version
    number says nothing about files modified after install).

    The last answer is remembered for the same (immutable) inventory and pack set: the YARA
    check and the bundle's evidence plan both ask, and a clean release in 20 environments
    makes it tens of thousands of paths.
    """
    with _CANDIDATES_LOCK:
        for inventory_ref, packs_ref, found in _LAST_CANDIDATES:
            if inventory_ref() is inventory and packs_ref() is packs:
                return found
    found = _yara_candidates(inventory, packs)
    with _CANDIDATES_LOCK:
        _LAST_CANDIDATES[:] = [(weakref.ref(inventory), weakref.ref(packs), found)]
    return found


_LAST_CANDIDATES: List[
    Tuple[weakref.ref[Inventory], weakref.ref[PackSet], Tuple[HostPath, ...]]
] = []
"""The last :func:`yara_candidates` answer and what it was for (held weakly)."""
_CANDIDATES_LOCK = threading.Lock()


def _yara_candidates(inventory: Inventory, packs: PackSet) -> Tuple[HostPath, ...]:
    chosen: Set[str] = {p.file.path for p in inventory.pth_files}
    chosen.update(h.file.path for h in inventory.startup_hooks)
    chosen.update(f.path for f in inventory.files)
    names = pack_distribution_names(packs)
    for dist in inventory.distributions:
        if dist.name in names:
            chosen.update(record_paths(dist, inventory))
    for check in inventory.record_checks:  # changed or added after install; no hash: unread
        chosen.update(
            f.path for f in (*(m.file for m in check.modified), *check.unlisted) if f.sha256
        )
    chosen.update(persistence_candidates(inventory))
    chosen.update(cached_candidates(inventory, packs))
    return cast(Tuple[HostPath, ...], tuple(sorted(chosen)))


def persistence_candidates(inventory: Inventory) -> Iterator[HostPath]:
    """Small persistence files, unless they may hold a secret (credentials are never read) or
    are the OS's own, read for context only (macOS ``/System/Library`` jobs)."""
    secrets = {c.path for c in inventory.credentials}  # authorized_keys is both
    for entry in inventory.persistence:
        if entry.path in secrets or not entry.copyable or not entry.sha256 or entry.context:
            continue
        if entry.size <= PERSISTENCE_LIMIT:
            yield entry.path


def cached_candidates(inventory: Inventory, packs: PackSet) -> Iterator[HostPath]:
    """Cached wheels and sdists of distributions a pack names (their members are matched)."""
    names = pack_distribution_names(packs)
    for artifact in inventory.cached_artifacts:
        if artifact.sha256 and artifact.name in names and artifact.size <= CACHED_LIMIT:
            yield artifact.path
