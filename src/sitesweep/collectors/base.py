"""The collector contract: what a collector is, what it is given, and what it gives back.

A collector observes one area of the host (its accounts, its environments, its persistence ...).
It declares an ``id``, the operating systems it serves (``oses``), the observations it fills in
(``observes``, names of :class:`Observed` fields) and the ones it reads (``needs``); its
``collect(ctx)`` returns a :class:`Collected`: values for the observations it declared, and the
coverage gaps it met. Nothing else: a collector never appends to a shared list, never raises on bad
input (the loop's guard turns any exception into a ``collector_failed`` gap anyway), and never
branches on the operating system (the loop runs it only on the OSes it declared; per-OS knowledge
lives in the OS profile, ``ctx.profile``).

Collectors are registered explicitly, in order, in :mod:`sitesweep.collectors.registry`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Callable,
    ClassVar,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

from sitesweep.discovery.model import PythonEnv
from sitesweep.door.base import PackageListing
from sitesweep.host.cluster_model import ClusterPod
from sitesweep.host.devtools import DevToolConfig
from sitesweep.host.history import HistoryInstall
from sitesweep.host.identity import HostIdentity, User
from sitesweep.host.model import CredentialItem, PersistenceEntry, ProcessInfo
from sitesweep.host.staging import StagedFile
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.caches import CachedArtifact
from sitesweep.metadata.importtime import ImportTimeModule, PackageShape
from sitesweep.metadata.integrity import RecordVerification
from sitesweep.metadata.lockfiles import LockFile
from sitesweep.metadata.model import Distribution, HostFile, PthFile, StartupHook
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.osprofile.model import OsFamily, OsInfo
from sitesweep.progress import Progress

if TYPE_CHECKING:
    from sitesweep.inventory import CollectSpec

_T = TypeVar("_T")

DETAIL_LIMIT = 400
"""An exception's text in a gap is cut here (a hostile file can make it arbitrarily long)."""


def _unknown_host() -> HostIdentity:
    return HostIdentity("unknown-host", None, None, None)


@dataclass
class Observed:
    """Every observation the collectors have made so far (the inventory being built).

    Tuple fields are *contributed to*: when two collectors observe the same tuple field, their
    values are concatenated in registry order. Other fields are set once.
    """

    identity: HostIdentity = field(default_factory=_unknown_host)
    os: OsInfo = field(default_factory=OsInfo)
    users: Tuple[User, ...] = ()
    environments: Tuple[PythonEnv, ...] = ()
    named_paths: Tuple[HostPath, ...] = ()
    """Files the walk noted by name (the packs' indicator file names), not yet hashed."""
    lockfile_paths: Tuple[HostPath, ...] = ()
    devtool_paths: Tuple[HostPath, ...] = ()
    """Files the walk noted by a developer tool's configuration file name, not yet read."""
    """Lockfiles and requirement files the walk noted, not yet read."""
    dirs_walked: int = 0
    files_seen: int = 0
    package_listings: Mapping[str, PackageListing] = field(default_factory=dict)
    """What the walk kept of the directories of site dirs' packages (the release-shape reader
    lists only the others; see :data:`sitesweep.metadata.importtime.Listings`)."""
    distributions: Tuple[Distribution, ...] = ()
    pth_files: Tuple[PthFile, ...] = ()
    startup_hooks: Tuple[StartupHook, ...] = ()
    files: Tuple[HostFile, ...] = ()
    processes: Tuple[ProcessInfo, ...] = ()
    persistence: Tuple[PersistenceEntry, ...] = ()
    credentials: Tuple[CredentialItem, ...] = ()
    record_checks: Tuple[RecordVerification, ...] = ()
    cached_artifacts: Tuple[CachedArtifact, ...] = ()
    lockfiles: Tuple[LockFile, ...] = ()
    history_installs: Tuple[HistoryInstall, ...] = ()
    cluster_pods: Tuple[ClusterPod, ...] = ()
    import_modules: Tuple[ImportTimeModule, ...] = ()
    package_shapes: Tuple[PackageShape, ...] = ()
    staged_files: Tuple[StagedFile, ...] = ()
    devtool_configs: Tuple[DevToolConfig, ...] = ()

    @staticmethod
    def names() -> FrozenSet[str]:
        """Every observation a collector may declare."""
        return frozenset(f.name for f in dataclasses.fields(Observed))

    def add(self, name: str, value: object) -> None:
        """Record a collector's value for ``name`` (concatenated to a tuple field)."""
        current = getattr(self, name)
        if isinstance(current, tuple) and isinstance(value, tuple):
            value = current + value
        setattr(self, name, value)


@dataclass
class CollectContext:
    """What a collector is given: the host door, the caller's spec and what was observed so far.

    Attributes:
        root: the scanned host (every read goes through it).
        spec: what the caller asked to look out for.
        progress: progress reporting.
        os: the scanned tree's operating system.
        observed: the observations of the collectors that ran before (read what ``needs`` names).
    """

    root: HostRoot
    spec: CollectSpec
    progress: Progress
    os: OsFamily
    observed: Observed = field(default_factory=Observed)


@dataclass(frozen=True)
class Collected:
    """What one collector gives back: values for its declared observations, and its gaps."""

    values: Mapping[str, object] = field(default_factory=dict)
    gaps: Tuple[Gap, ...] = ()


class Collector(ABC):
    """One area of observation. Subclasses set the class attributes and implement ``collect``.

    Attributes:
        id: unique, short, stable (also the area of the gaps the guard records for it).
        oses: the operating systems it serves; on any other it does not run and the loop records
            a ``not_collected`` gap for what it observes (unless another collector serves it).
        observes: the :class:`Observed` fields it fills in.
        needs: the :class:`Observed` fields it reads (filled by collectors registered earlier).
        stage: the progress stage it starts, if any.
        summary: one line for a human: what it looks at.
        apart: its work may run in a forked worker (:mod:`sitesweep.apart`) while the loop goes
            on with the collectors that do not need what it observes: it reads only the host and
            ``ctx.observed``, changes nothing else the caller keeps, and returns picklable values.
    """

    id: ClassVar[str]
    oses: ClassVar[FrozenSet[OsFamily]]
    observes: ClassVar[Tuple[str, ...]]
    needs: ClassVar[Tuple[str, ...]] = ()
    stage: ClassVar[Optional[str]] = None
    summary: ClassVar[str] = ""
    apart: ClassVar[bool] = False

    @abstractmethod
    def collect(self, ctx: CollectContext) -> Collected:
        """Observe the host; return the declared observations and the gaps met."""


def failure_gap(area: str, path: Optional[str], exc: BaseException) -> Gap:
    """The gap recorded when ``area`` (a collector, or one step of it) raised ``exc``."""
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > DETAIL_LIMIT:
        text = text[:DETAIL_LIMIT] + "..."
    where = HostPath(path) if path is not None else None
    return Gap(area, where, GapReason.COLLECTOR_FAILED, f"{area} failed: {text}")


def guarded(
    area: str, path: Optional[str], gaps: List[Gap], step: Callable[[], _T], default: _T
) -> _T:
    """Run one collector step; any exception becomes a gap naming ``area`` (and ``path``).

    The one guard of collection: the loop runs every collector through it, and a collector runs
    each per-item step (one site dir, one lockfile) through it so that one bad item costs only
    itself. ``KeyboardInterrupt`` and ``SystemExit`` are not exceptions here: they still stop the
    scan.
    """
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - the guard: every failure becomes a gap
        gaps.append(failure_gap(area, path, exc))
        return default


def gaps_of(*groups: Sequence[Gap]) -> Tuple[Gap, ...]:
    """Join gap sequences into the tuple a :class:`Collected` holds."""
    return tuple(g for group in groups for g in group)
