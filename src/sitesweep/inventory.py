"""Every observation of one collection, and the function that collects them from a host.

The inventory knows nothing about signature packs: the collector is told which file names and
site-relative paths to hash (:class:`CollectSpec`), so a ``collect`` run needs no matching.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import partial
from typing import FrozenSet, List, NoReturn, Optional, Tuple

from sitesweep.collectors.base import CollectContext, Observed, guarded
from sitesweep.collectors.registry import Collection, start_collectors
from sitesweep.discovery import FsPolicy, PythonEnv
from sitesweep.discovery.walk import DEFAULT_PRUNE
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
from sitesweep.model import Gap, GapReason
from sitesweep.osprofile.detect import detect_family
from sitesweep.osprofile.model import OsFamily, OsInfo
from sitesweep.progress import NullProgress, Progress

DEFAULT_HASH_LIMIT = 256 << 20
"""Files of interest larger than this are not hashed (recorded as a gap)."""


@dataclass(frozen=True)
class CollectSpec:
    """What the collector should look out for beyond environments.

    Attributes:
        names: file base names to note and hash wherever they are.
        site_paths: paths relative to any site dir to hash when present.
        exclude: host paths not to walk.
        fs_policy: which mounted filesystems to enter.
        hash_limit: largest file hashed.
        live_processes: snapshot running processes (live scans only; skipped under a root).
        persistence_paths: persistence paths named by the packs (``~/`` = every home).
        credentials: the packs' ``credentials`` entries (what a payload steals).
        verify_record: verify the RECORD of every distribution, not only the targeted ones.
        verify_targets: distribution names and top-level packages whose RECORD is always verified.
        prune: directories the walk does not enter (names or ``parent/name``).
        kubernetes: run the read-only ``kubectl get pods`` query (``--kubernetes``; live only).
    """

    names: FrozenSet[str] = frozenset()
    site_paths: FrozenSet[str] = frozenset()
    exclude: Tuple[str, ...] = ()
    fs_policy: FsPolicy = FsPolicy.LOCAL
    hash_limit: int = DEFAULT_HASH_LIMIT
    live_processes: bool = True
    persistence_paths: FrozenSet[str] = frozenset()
    credentials: FrozenSet[str] = frozenset()
    verify_record: bool = False
    verify_targets: FrozenSet[str] = frozenset()
    prune: FrozenSet[str] = DEFAULT_PRUNE
    kubernetes: bool = False


@dataclass(frozen=True)
class Inventory:
    """All observations of one host.

    Attributes:
        root: the directory scanned as the host's ``/`` ("/" for a live scan).
        live: whether this was the running system.
        identity: host names.
        users: accounts and homes (the OS's account database, and every home directory).
        environments: Python environments found.
        distributions: installed distributions in every site dir.
        pth_files: every .pth in every site dir.
        startup_hooks: sitecustomize/usercustomize modules.
        files: files of interest (named indicator files, indicator paths in site dirs).
        gaps: what could not be read, and why.
        dirs_walked, files_seen: how much the walk covered.
        processes: running processes (live scans only).
        persistence: files at persistence locations, system-wide and per home.
        credentials: secrets a payload steals that exist here (metadata only, never content).
        record_checks: RECORD verification of targeted (or, asked, all) distributions.
        cached_artifacts: wheels and sdists in pip, uv, poetry and conda caches.
        lockfiles: lockfiles and requirement files and what they pin.
        record_targets: names whose RECORD rows a bundle keeps (the packs' targets, or every
            distribution with ``--verify-record``, so their files can be compared later); other
            distributions' RECORDs are read only in a targeted site dir (or with
            ``--verify-record``), and a bundle only counts their rows.
        history_installs: shell-history lines that ran a Python package installer (redacted).
        cluster_pods: the cluster's pods as ``kubectl`` listed them (``--kubernetes``, live).
        os: the scanned tree's operating system, as its own files say; renderers write host
            paths with :func:`sitesweep.osprofile.display_path` and this value.
        import_modules: modules whose import-time code does something worth grading (package
            ``__init__`` files, what they import, what ``.pth`` lines import).
        package_shapes: packages of pure (or unknown) releases carrying native code,
            JavaScript or a JavaScript runtime.
        staged_files: files in temporary directories (kind, archive member names).
        devtool_configs: AI-assistant settings and hooks, MCP server lists, editor tasks, git
            hooks and registry overrides, with what each runs (redacted).
    """

    root: str
    live: bool
    identity: HostIdentity
    users: Tuple[User, ...]
    environments: Tuple[PythonEnv, ...]
    distributions: Tuple[Distribution, ...]
    pth_files: Tuple[PthFile, ...]
    startup_hooks: Tuple[StartupHook, ...]
    files: Tuple[HostFile, ...]
    gaps: Tuple[Gap, ...]
    dirs_walked: int
    files_seen: int
    processes: Tuple[ProcessInfo, ...] = ()
    persistence: Tuple[PersistenceEntry, ...] = ()
    credentials: Tuple[CredentialItem, ...] = ()
    record_checks: Tuple[RecordVerification, ...] = ()
    cached_artifacts: Tuple[CachedArtifact, ...] = ()
    lockfiles: Tuple[LockFile, ...] = ()
    record_targets: Tuple[str, ...] = ()
    history_installs: Tuple[HistoryInstall, ...] = ()
    cluster_pods: Tuple[ClusterPod, ...] = ()
    import_modules: Tuple[ImportTimeModule, ...] = ()
    package_shapes: Tuple[PackageShape, ...] = ()
    staged_files: Tuple[StagedFile, ...] = ()
    devtool_configs: Tuple[DevToolConfig, ...] = ()
    os: OsInfo = field(default_factory=OsInfo)

    def environment_of(self, path: str) -> Optional[PythonEnv]:
        """Return the environment whose prefix holds ``path`` (the deepest one)."""
        best: Optional[PythonEnv] = None
        for env in self.environments:
            prefix = env.prefix.rstrip("/") + "/"
            if path.startswith(prefix) and (best is None or len(env.prefix) > len(best.prefix)):
                best = env
        return best


_OBSERVED = Observed.names()
UNKNOWN_OS_DETAIL = (
    "the operating system cannot be told from the tree (no os-release, SystemVersion.plist or "
    "Windows directory): every OS's home directories and locations are looked at"
)


class NotYet(tuple):  # type: ignore[type-arg]
    """An observation still being made apart: any use of it is an error, never an empty tuple
    (a check that reads it before it is ready must fail loudly, not find nothing)."""

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise RuntimeError("an observation still being collected was read (see Check.runs_without)")

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = _refuse
    __add__ = __eq__ = __hash__ = count = index = _refuse


NOT_YET = NotYet()


class InventoryUnderway:
    """An inventory whose collectors working apart may not be done yet.

    ``now`` holds every observation made so far; the ones still being made (``pending``) are
    :data:`NOT_YET` in it. :meth:`finish` waits for them and gives the whole inventory.
    """

    def __init__(self, root: HostRoot, spec: CollectSpec, run: Collection, gaps: List[Gap]):
        self._root = root
        self._spec = spec
        self._run = run
        self._gaps = gaps
        self.pending = run.pending
        self.now = _assemble(root, spec, run.ctx.observed, [*gaps, *run.gaps], self.pending)
        self._whole: Optional[Inventory] = None if self.pending else self.now

    def finish(self) -> Inventory:
        """The whole inventory, once every collector is done."""
        if self._whole is None:
            seen, collector_gaps = self._run.finish()
            self._whole = _assemble(self._root, self._spec, seen, [*self._gaps, *collector_gaps])
        return self._whole

    def cancel(self) -> None:
        """Stop the collectors still working apart (the scan is being abandoned)."""
        self._run.cancel()


def start_inventory(
    root: HostRoot, spec: CollectSpec, progress: Optional[Progress] = None
) -> InventoryUnderway:
    """Tell the host's OS and run every registered collector serving it; those declared
    ``apart`` may still be working (:meth:`InventoryUnderway.finish` waits for them)."""
    gaps: List[Gap] = []
    unknown: Tuple[OsFamily, Optional[str]] = (OsFamily.UNKNOWN, None)
    os_family, _ = guarded("os", None, gaps, partial(detect_family, root), unknown)
    if os_family is OsFamily.UNKNOWN:
        gaps.append(Gap("os", None, GapReason.UNKNOWN_OS, UNKNOWN_OS_DETAIL))
    ctx = CollectContext(root, spec, progress or NullProgress(), os_family)
    return InventoryUnderway(root, spec, start_collectors(ctx), gaps)


def collect_inventory(
    root: HostRoot, spec: CollectSpec, progress: Optional[Progress] = None
) -> Inventory:
    """Tell the host's OS, run every registered collector serving it, assemble the inventory."""
    return start_inventory(root, spec, progress).finish()


def _assemble(
    root: HostRoot,
    spec: CollectSpec,
    seen: Observed,
    gaps: List[Gap],
    pending: FrozenSet[str] = frozenset(),
) -> Inventory:
    """The inventory of what ``seen`` holds (``pending`` observations: :data:`NOT_YET`)."""
    kept = {f.name: getattr(seen, f.name) for f in fields(Inventory) if f.name in _OBSERVED}
    kept["files"] = tuple(sorted(seen.files, key=lambda f: f.path))
    kept.update((name, NOT_YET) for name in pending)
    return Inventory(
        root=str(root.root),
        live=root.is_live,
        gaps=tuple(sorted(set(gaps), key=_gap_key)),
        record_targets=tuple(
            sorted(
                {d.name for d in seen.distributions} if spec.verify_record else spec.verify_targets
            )
        ),
        **kept,
    )


def _gap_key(gap: Gap) -> Tuple[str, str, str]:
    return (gap.path or "", gap.area, gap.reason.value)
