"""Where are the Python environments on this host?"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Sequence, Tuple

from sitesweep.discovery.classify import classify
from sitesweep.discovery.model import EnvKind, FsPolicy, PythonEnv
from sitesweep.discovery.walk import WalkSpec, walk
from sitesweep.door.base import PackageListing
from sitesweep.host.identity import User
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, HostPath
from sitesweep.progress import Progress

__all__ = ["Discovery", "EnvKind", "FsPolicy", "PythonEnv", "WalkSpec", "discover"]


@dataclass(frozen=True)
class Discovery:
    """The environments found, the named files noted on the way, and what could not be walked."""

    environments: Tuple[PythonEnv, ...]
    named_files: Tuple[HostPath, ...]
    gaps: Tuple[Gap, ...]
    dirs_walked: int
    files_seen: int
    lockfiles: Tuple[HostPath, ...] = ()
    config_files: Tuple[HostPath, ...] = ()
    package_listings: Mapping[str, PackageListing] = field(default_factory=dict)
    """What the walk kept of the directories of site dirs' packages (``WalkSpec``)."""


def discover(
    root: HostRoot, spec: WalkSpec, users: Sequence[User], progress: Optional[Progress] = None
) -> Discovery:
    """Walk the host once and classify every Python environment on it."""
    result = walk(root, spec, progress)
    names: Dict[int, str] = {}
    for user in users:  # the account database's name first, a walked home's after
        if user.uid >= 0:
            names.setdefault(user.uid, user.name)
    homes = sorted({u.home for u in users if u.home not in ("", "/")})
    envs, gaps = classify(
        root, result.site_dirs, result.venv_prefixes, result.conda_prefixes, names, homes
    )
    if result.linked_sites:
        envs = [_name_links(env, result.linked_sites) for env in envs]
    return Discovery(
        environments=tuple(envs),
        named_files=tuple(sorted(result.named_files)),
        gaps=tuple(result.gaps + gaps),
        dirs_walked=result.dirs,
        files_seen=result.files,
        lockfiles=tuple(sorted(result.lockfiles)),
        config_files=tuple(sorted(result.config_files)),
        package_listings=result.package_listings,
    )


def _name_links(env: PythonEnv, links: Mapping[HostPath, HostPath]) -> PythonEnv:
    """Say in an environment's detail which of its site dirs is a symlink, and to where."""
    notes = [f"{s} is a symbolic link to {links[s]}" for s in env.site_dirs if s in links]
    if not notes:
        return env
    return replace(env, detail="; ".join(filter(None, (env.detail, *notes))))
