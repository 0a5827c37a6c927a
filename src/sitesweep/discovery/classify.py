"""Turn what the walk noted into environments: prefix, kind, versions, owner.

All the knowledge of where tools keep their environments is in the tables below, so a reviewer can
audit coverage without reading logic.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from sitesweep.discovery.model import EnvKind, PythonEnv
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath

CONTAINER_STORAGE = ("/var/lib/docker/", "/var/lib/containers/", "/var/lib/containerd/")
"""Container image layers and container filesystems live below these."""

TOOL_LOCATIONS: Tuple[Tuple[str, EnvKind], ...] = (
    ("/.pyenv/versions/", EnvKind.PYENV),
    ("/.local/share/uv/python/", EnvKind.UV_PYTHON),
    ("/.local/share/uv/tools/", EnvKind.UV_TOOL),
    ("/.local/pipx/venvs/", EnvKind.PIPX),
    ("/.local/share/pipx/venvs/", EnvKind.PIPX),
    ("/opt/pipx/venvs/", EnvKind.PIPX),
    ("/.cache/pypoetry/virtualenvs/", EnvKind.POETRY),
    ("/Library/Caches/pypoetry/virtualenvs/", EnvKind.POETRY),
    ("/.local/share/pdm/venvs/", EnvKind.PDM),
    ("/.local/share/hatch/env/", EnvKind.HATCH),
    ("/.tox/", EnvKind.TOX),
    ("/.nox/", EnvKind.NOX),
    ("/.virtualenvs/", EnvKind.VIRTUALENVWRAPPER),
)
"""Path fragments that say which tool made an environment; the first match wins."""

SYSTEM_PREFIXES = frozenset({"/usr", "/usr/local", "/", "/opt/homebrew", "/usr/pkg"})

_LIB_PYTHON = re.compile(r"^(?P<prefix>.*)/lib(?:64|32)?/python(?P<ver>\d+(?:\.\d+)?t?)/[^/]+$")
_WIN_LIB = re.compile(r"^(?P<prefix>.*)/Lib/site-packages$")
_CONDA_PY = re.compile(r"^python-(\d+\.\d+(?:\.\d+)?)-")
_CFG_VERSION = re.compile(r"^\s*(version|version_info)\s*=\s*(\S+)", re.MULTILINE)
_CFG_HOME = re.compile(r"^\s*home\s*=\s*(.+?)\s*$", re.MULTILINE)

PYVENV_CFG_LIMIT = 64 * 1024


def split_site_dir(site: str) -> Tuple[str, Optional[str], bool]:
    """Return (prefix, version, recognised) for a site-packages or dist-packages path.

    ``recognised`` is False for a site dir outside any ``lib/pythonX.Y`` or ``Lib`` layout
    (a vendored copy): its prefix is then its parent directory.
    """
    match = _LIB_PYTHON.match(site)
    if match:
        return match.group("prefix") or "/", match.group("ver"), True
    match = _WIN_LIB.match(site)
    if match:
        return match.group("prefix") or "/", None, True
    parent = site.rsplit("/", 1)[0] or "/"
    return parent, None, False


def _tool_kind(prefix: str) -> Optional[EnvKind]:
    probe = prefix + "/"
    return next((kind for frag, kind in TOOL_LOCATIONS if frag in probe), None)


def _kind(prefix: str, recognised: bool, markers: Set[str], homes: Iterable[str]) -> EnvKind:
    tool = _tool_kind(prefix)
    if tool is not None:
        return tool
    if "conda-meta" in markers:
        return EnvKind.CONDA
    if "pyvenv.cfg" in markers:
        return EnvKind.VENV
    if any(prefix == home.rstrip("/") + "/.local" for home in homes):
        return EnvKind.USER
    if prefix in SYSTEM_PREFIXES:
        return EnvKind.SYSTEM
    return EnvKind.EMBEDDED if recognised else EnvKind.VENDORED


class _Builder:
    """Accumulates site dirs and markers per prefix, then reads versions and owners."""

    def __init__(self, root: HostRoot, users: Mapping[int, str], homes: Sequence[str]) -> None:
        self.root = root
        self.users = users
        self.homes = homes
        self.sites: Dict[str, List[HostPath]] = {}
        self.versions: Dict[str, Set[str]] = {}
        self.recognised: Dict[str, bool] = {}
        self.markers: Dict[str, Set[str]] = {}
        self.gaps: List[Gap] = []

    def add_site(self, site: HostPath) -> None:
        prefix, version, recognised = split_site_dir(site)
        self.sites.setdefault(prefix, []).append(site)
        self.recognised[prefix] = self.recognised.get(prefix, False) or recognised
        if version:
            self.versions.setdefault(prefix, set()).add(version)

    def add_marker(self, prefix: HostPath, marker: str) -> None:
        self.markers.setdefault(prefix, set()).add(marker)
        self.sites.setdefault(prefix, [])
        self.recognised.setdefault(prefix, True)

    def build(self) -> List[PythonEnv]:
        return [self._env(prefix) for prefix in sorted(self.sites)]

    def _env(self, prefix: str) -> PythonEnv:
        markers = self.markers.get(prefix, set())
        versions = set(self.versions.get(prefix, set()))
        detail = ""
        if "pyvenv.cfg" in markers:
            cfg_version, detail = self._read_cfg(prefix)
            versions.update([cfg_version] if cfg_version else [])
        if "conda-meta" in markers:
            versions.update(self._conda_versions(prefix))
        kind = _kind(prefix, self.recognised.get(prefix, True), markers, self.homes)
        if any(prefix.startswith(p) for p in CONTAINER_STORAGE):
            kind, detail = EnvKind.CONTAINER, f"{kind} inside container storage"
        return PythonEnv(
            prefix=HostPath(prefix),
            kind=kind,
            site_dirs=tuple(sorted(self.sites[prefix])),
            python_versions=_most_precise(versions),
            owner=self._owner(prefix),
            detail=detail,
        )

    def _read_cfg(self, prefix: str) -> Tuple[Optional[str], str]:
        path = prefix.rstrip("/") + "/pyvenv.cfg"
        try:
            text = self.root.read_text(path, PYVENV_CFG_LIMIT)
        except HostReadError as exc:
            self.gaps.append(Gap("discovery", HostPath(path), exc.reason, exc.detail))
            return None, ""
        version = _CFG_VERSION.search(text)
        home = _CFG_HOME.search(text)
        return (version.group(2) if version else None), (f"home={home.group(1)}" if home else "")

    def _conda_versions(self, prefix: str) -> List[str]:
        meta = prefix.rstrip("/") + "/conda-meta"
        try:
            names = [e.name for e in self.root.listdir(meta)]
        except HostReadError as exc:
            self.gaps.append(Gap("discovery", HostPath(meta), exc.reason, exc.detail))
            return []
        return [m.group(1) for m in map(_CONDA_PY.match, names) if m]

    def _owner(self, prefix: str) -> Optional[str]:
        try:
            uid = self.root.lstat(prefix).uid
        except HostReadError as exc:
            reason = GapReason.VANISHED if exc.reason is GapReason.VANISHED else exc.reason
            self.gaps.append(Gap("discovery", HostPath(prefix), reason, exc.detail))
            return None
        return self.users.get(uid, str(uid))


def _most_precise(versions: Set[str]) -> Tuple[str, ...]:
    """Drop a version that a more precise one refines ("3.11" when "3.11.7" is known)."""
    return tuple(
        sorted(v for v in versions if not any(o != v and o.startswith(v + ".") for o in versions))
    )


def classify(
    root: HostRoot,
    site_dirs: Iterable[HostPath],
    venv_prefixes: Iterable[HostPath],
    conda_prefixes: Iterable[HostPath],
    users: Mapping[int, str],
    homes: Sequence[str],
) -> Tuple[List[PythonEnv], List[Gap]]:
    """Group site dirs and marker files into environments, sorted by prefix."""
    builder = _Builder(root, users, homes)
    for site in site_dirs:
        builder.add_site(site)
    for prefix in venv_prefixes:
        builder.add_marker(prefix, "pyvenv.cfg")
    for prefix in conda_prefixes:
        builder.add_marker(prefix, "conda-meta")
    return builder.build(), builder.gaps
