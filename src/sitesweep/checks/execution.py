"""Did a pack's payload run here? A predicate shared by checks that grade by it.

Checks never read each other's output, so the checks that need "the host has an indicator of
execution" (credential rotation, persistence changed in the incident window, Kubernetes) re-derive
it from the inventory and the pack with these functions: an affected release installed, or one of
the pack's critical files, artifacts or persistence paths present.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from sitesweep.host.locations import expand, homes
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import HostFile
from sitesweep.model import Severity
from sitesweep.packs.model import Pack


def _hashed(inv: Inventory) -> Iterator[HostFile]:
    yield from inv.files
    yield from (p.file for p in inv.pth_files)
    yield from (h.file for h in inv.startup_hooks)


def _installed(inv: Inventory, pack: Pack) -> Iterator[str]:
    for release in pack.affected:
        if release.severity is not Severity.CRITICAL:
            continue
        for dist in inv.distributions:
            if dist.name == release.name and release.matches(dist.version):
                yield f"{dist.raw_name} {dist.version} installed at {dist.path}"


def _files(inv: Inventory, pack: Pack) -> Iterator[str]:
    artifacts = {a.sha256 for a in pack.artifacts}
    for file in _hashed(inv):
        base = file.path.rsplit("/", 1)[-1]
        if file.sha256 and file.sha256 in artifacts:
            yield f"artifact {file.path} present"
        for ind in pack.files:
            if ind.severity is not Severity.CRITICAL:
                continue
            by_hash = bool(file.sha256) and file.sha256 in ind.sha256
            by_name = ind.name_is_indicator and (
                ind.name == base or bool(ind.site_path and file.path.endswith("/" + ind.site_path))
            )
            if by_hash or by_name:
                yield f"indicator file {file.path} present"


def persistence_paths(inv: Inventory, pattern: str) -> Tuple[Tuple[str, str], ...]:
    """Expand a pack persistence path for every home in the inventory: (scope, host path)."""
    return expand(pattern, homes(inv.users))


def _persistence(inv: Inventory, pack: Pack) -> Iterator[str]:
    present = {e.path for e in inv.persistence}
    for ind in pack.persistence:
        if ind.severity is not Severity.CRITICAL:
            continue
        for _scope, path in persistence_paths(inv, ind.path):
            if path in present:
                yield f"persistence {path} present"


def execution_evidence(inv: Inventory, pack: Pack) -> Tuple[str, ...]:
    """Return why the host shows that ``pack``'s payload ran (empty when it does not).

    Args:
        inv: the observations.
        pack: the incident.

    Returns:
        One sentence per indicator of execution, sorted and unique.
    """
    found: List[str] = [*_installed(inv, pack), *_files(inv, pack), *_persistence(inv, pack)]
    return tuple(sorted(set(found)))


def pack_in_use(inv: Inventory, pack: Pack) -> bool:
    """Whether ``pack`` concerns this host: its payload ran, or an affected project is installed."""
    if execution_evidence(inv, pack):
        return True
    names = {release.name for release in pack.affected}
    return any(dist.name in names for dist in inv.distributions)
