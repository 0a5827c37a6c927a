"""Which host files get their content matched: one predicate for the scan and the bundle.

The YARA check reads these files through its content source, and the bundle writer copies the
same files as evidence, so ``analyze BUNDLE`` later matches exactly what ``scan`` matched.
"""

from __future__ import annotations

import posixpath
from typing import FrozenSet, Iterator, Set, Tuple

from sitesweep.inventory import Inventory
from sitesweep.metadata.model import Distribution
from sitesweep.model import HostPath
from sitesweep.packs.model import PackSet

__all__ = [
    "cached_candidates",
    "pack_distribution_names",
    "persistence_candidates",
    "record_paths",
    "yara_candidates",
]

PERSISTENCE_LIMIT = 1 << 20
"""Persistence files above this size are hashed but neither matched nor copied."""
CACHED_LIMIT = 64 << 20
"""Cached archives above this size are hashed but neither matched nor copied."""


def pack_distribution_names(packs: PackSet) -> FrozenSet[str]:
    """Canonical names of every distribution any pack lists as affected (any version)."""
    return frozenset(str(a.name) for pack in packs.packs for a in pack.affected)


def record_paths(dist: Distribution, inventory: Inventory) -> Iterator[HostPath]:
    """Host paths of the files a distribution's RECORD lists (``..`` rows resolved lexically).

    Only paths inside the distribution's environment (its prefix; the site dir when no environment
    holds it) are kept: a wheel installs into its scheme directories (``bin/``, ``share/``...) and
    nowhere else, and a forged RECORD row such as ``../../../../root/.ssh/id_rsa`` must not turn a
    secret into a matched file and an evidence copy.
    """
    site = dist.site_dir.rstrip("/")
    env = inventory.environment_of(site)
    bound = (env.prefix if env else site).rstrip("/") + "/"
    for entry in dist.record:
        rel = entry.path
        if not rel or rel.startswith("/"):
            continue
        if rel.startswith(".") or "/." in rel or "//" in rel or rel.endswith("/"):
            path = posixpath.normpath(f"{site}/{rel}")  # "..", ".", "//": resolved lexically
        else:
            path = f"{site}/{rel}"  # already normal (the site dir is)
        if path.startswith(bound):
            yield HostPath(path)


def yara_candidates(inventory: Inventory, packs: PackSet) -> Tuple[HostPath, ...]:
    """Every host file whose content is matched against the packs' YARA rules, sorted.

    These are every ``.pth`` file, every ``sitecustomize``/``usercustomize`` module, every file of
    interest the inventory hashed, and every file listed in the RECORD of an installed
    distribution whose name a pack lists as affected (whatever its version: a clean version
    number says nothing about files modified after install).
    """
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
    return tuple(HostPath(p) for p in sorted(chosen))


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
