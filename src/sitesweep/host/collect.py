"""One call that runs the host-level collectors: processes, persistence, credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, List, Sequence, Tuple

from sitesweep.host.credentials import collect_credentials, is_variable_entry
from sitesweep.host.identity import User
from sitesweep.host.model import CredentialItem, PersistenceEntry, ProcessInfo
from sitesweep.host.persistence import collect_persistence
from sitesweep.host.processes import collect_processes
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap


@dataclass(frozen=True)
class HostState:
    """What the host-level collectors observed, and what they could not read."""

    processes: Tuple[ProcessInfo, ...]
    persistence: Tuple[PersistenceEntry, ...]
    credentials: Tuple[CredentialItem, ...]
    gaps: Tuple[Gap, ...]


def collect_host_state(
    root: HostRoot,
    users: Sequence[User],
    *,
    live_processes: bool = True,
    persistence_paths: FrozenSet[str] = frozenset(),
    credentials: FrozenSet[str] = frozenset(),
    exclude: Tuple[str, ...] = (),
    hash_limit: int = 256 << 20,
) -> HostState:
    """Snapshot processes (live only), read persistence locations, list exposed credentials.

    Args:
        root: the scanned host.
        users: accounts from ``/etc/passwd``.
        live_processes: whether to snapshot processes on a live scan.
        persistence_paths: persistence paths named by the packs.
        credentials: the packs' ``credentials`` entries.
        exclude: host paths not searched (the bundle output).
        hash_limit: largest file hashed.
    """
    gaps: List[Gap] = []
    processes = collect_processes(root, gaps, enabled=live_processes)
    variables = frozenset(c for c in credentials if is_variable_entry(c))
    persistence, persistence_gaps = collect_persistence(
        root, users, persistence_paths, variables, hash_limit
    )
    found, credential_gaps = collect_credentials(root, users, credentials, persistence, exclude)
    return HostState(
        processes=processes,
        persistence=persistence,
        credentials=found,
        gaps=(*gaps, *persistence_gaps, *credential_gaps),
    )
