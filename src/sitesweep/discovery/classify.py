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
from sitesweep.parsing import guarded

CONTAINER_STORAGE = ("/var/lib/docker/", "/var/lib/containers/", "/var/lib/containerd/")
"""Container image layers and container filesystems live below these."""

TOOL_LOCATIONS: Tuple[Tuple[str, EnvKind], ...] = (
    # Linux and macOS (XDG and ~/.local layouts)
    ("/.pyenv/versions/", EnvKind.PYENV),
    ("/.local/share/uv/python/", EnvKind.UV_PYTHON),
    ("/.local/share/uv/tools/", EnvKind.UV_TOOL),
    ("/.local/pipx/venvs/", EnvKind.PIPX),
    ("/.local/share/pipx/venvs/", EnvKind.PIPX),
    ("/opt/pipx/venvs/", EnvKind.PIPX),
    ("/.cache/pypoetry/virtualenvs/", EnvKind.POETRY),
    ("/.local/share/pdm/venvs/", EnvKind.PDM),
    ("/.local/share/hatch/env/", EnvKind.HATCH),
    # macOS (~/Library)
    ("/Library/Caches/pypoetry/virtualenvs/", EnvKind.POETRY),
    ("/Library/Application Support/pipx/venvs/", EnvKind.PIPX),
    ("/Library/Application Support/pdm/venvs/", EnvKind.PDM),
    ("/Library/Application Support/hatch/env/", EnvKind.HATCH),
    # Windows (%USERPROFILE%, %APPDATA%, %LOCALAPPDATA%)
    ("/.pyenv/pyenv-win/versions/", EnvKind.PYENV),
    ("/AppData/Roaming/uv/python/", EnvKind.UV_PYTHON),
    ("/AppData/Roaming/uv/tools/", EnvKind.UV_TOOL),
    ("/AppData/Local/pipx/pipx/venvs/", EnvKind.PIPX),
    ("/pipx/venvs/", EnvKind.PIPX),
    ("/AppData/Local/pypoetry/Cache/virtualenvs/", EnvKind.POETRY),
    ("/AppData/Local/pdm/pdm/venvs/", EnvKind.PDM),
    ("/AppData/Local/hatch/env/", EnvKind.HATCH),
    # any OS
    ("/.tox/", EnvKind.TOX),
    ("/.nox/", EnvKind.NOX),
    ("/.virtualenvs/", EnvKind.VIRTUALENVWRAPPER),
)
"""Path fragments that say which tool made an environment (matched without regard to case);
the first match wins."""

LAYOUT_KINDS: Tuple[Tuple[str, EnvKind, str], ...] = (
    (r"/Applications/Xcode[^/]*\.app/Contents/Developer/", EnvKind.XCODE, "Xcode"),
    (r"^/Library/Developer/CommandLineTools/", EnvKind.COMMAND_LINE_TOOLS, "Command Line Tools"),
    (r"^/(opt/homebrew|usr/local)/Cellar/", EnvKind.HOMEBREW, "Homebrew Cellar"),
    (r"^/opt/homebrew(/|$)", EnvKind.HOMEBREW, "Homebrew (Apple silicon)"),
    (r"\.app/Contents/", EnvKind.APP_BUNDLE, "macOS application bundle"),
    (r"^/Library/Frameworks/Python\.framework/", EnvKind.PYTHON_ORG, "python.org framework"),
    (
        r"^/Program Files/WindowsApps/PythonSoftwareFoundation\.Python\.",
        EnvKind.MS_STORE,
        "Microsoft Store Python",
    ),
    (r"^/Program Files( \(x86\))?/Python\d+[^/]*$", EnvKind.PYTHON_ORG, "python.org, all users"),
    (r"/AppData/Local/Programs/Python/Python\d+[^/]*$", EnvKind.PYTHON_ORG, "python.org, per user"),
)
"""(pattern over the prefix, kind, what it is) for installations known by where they live
(macOS and Windows; matched without regard to case); the first match wins, after the tool
locations and the conda/venv markers."""

SITE_LAYOUTS: Tuple[Tuple[str, Optional[EnvKind], str], ...] = (
    (r"^(?P<prefix>.*/Library/Python/(?P<ver>\d+\.\d+))/lib/python/site-packages$", EnvKind.USER,
     "macOS user site"),
    (r"^(?P<prefix>.*/AppData/Roaming/Python/Python(?P<ver>\d{2,3}))/site-packages$", EnvKind.USER,
     "Windows user site"),
    (r"^(?P<prefix>.*/LocalCache/local-packages/Python(?P<ver>\d{2,3}))/site-packages$",
     EnvKind.USER, "Microsoft Store Python user site"),
    (r"^(?P<prefix>.*)/lib(?:64|32)?/python(?P<ver>\d+(?:\.\d+)?t?)/[^/]+$", None, ""),
    (r"^(?P<prefix>.*)/Lib/site-packages$", None, ""),
    (r"^(?P<prefix>.*)/app_packages$", EnvKind.APP_BUNDLE, "Briefcase app_packages"),
    (r"^(?P<prefix>.*)/pkgs$", EnvKind.APP_BUNDLE, "pynsist pkgs"),
)  # fmt: skip
"""(pattern over a site dir giving its prefix and maybe its version, the kind it implies, what
it is); the first match wins. ``Lib`` matches without regard to case."""

PACKAGE_DIR_NAMES = frozenset({"app_packages", "pkgs"})
"""Directory names that hold packages outside a ``site-packages`` (the walk notes them)."""
PYNSIST_MARK = "Python"
"""A ``pkgs`` directory is pynsist's only beside the bundled ``Python`` directory."""

VERSION_IN_PATH: Tuple[str, ...] = (
    r"/Python(?P<major>\d)(?P<minor>\d{1,2})(?:-32|-arm64)?(?:/|$)",
    r"PythonSoftwareFoundation\.Python\.(?P<ver>\d+\.\d+)",
    r"/cpython-(?P<ver>\d+\.\d+\.\d+)",
    r"/versions/(?P<ver>\d+\.\d+(?:\.\d+)?)(?:/|$)",
    r"/python@(?P<ver>\d+\.\d+)/",
)
"""Where a prefix's own path names its Python version (Windows ``Python312``, Store packages,
uv's ``cpython-3.12.1-...``, pyenv and pyenv-win ``versions/3.12.1``, Homebrew ``python@3.12``)."""
_WIN_DLL = re.compile(r"^python(?P<major>3)(?P<minor>\d{1,2})\.(dll|zip|_pth)$", re.IGNORECASE)
"""``python312.dll``, ``python312.zip``, ``python312._pth`` in a Windows prefix."""

SYSTEM_PREFIXES = frozenset({"/usr", "/usr/local", "/", "/usr/pkg"})
HOMEBREW_INTEL_MARKS = ("/usr/local/Cellar", "/usr/local/Homebrew")
"""``/usr/local`` is Homebrew's (Intel macOS) when one of these exists."""

_SITE_LAYOUTS = tuple(
    (re.compile(p, 0 if p.startswith(r"^(?P<prefix>.*)/lib(") else re.IGNORECASE), k, d)
    for p, k, d in SITE_LAYOUTS
)
_LAYOUT_KINDS = tuple((re.compile(p, re.IGNORECASE), k, d) for p, k, d in LAYOUT_KINDS)
_VERSION_IN_PATH = tuple(re.compile(p, re.IGNORECASE) for p in VERSION_IN_PATH)
_TOOL_LOCATIONS = tuple((frag.lower(), kind) for frag, kind in TOOL_LOCATIONS)
_CONDA_PY = re.compile(r"^python-(\d+\.\d+(?:\.\d+)?)-")
_CFG_VERSION = re.compile(r"^\s*(version|version_info)\s*=\s*(\S+)", re.MULTILINE)
_CFG_HOME = re.compile(r"^\s*home\s*=\s*(.+?)\s*$", re.MULTILINE)

PYVENV_CFG_LIMIT = 64 * 1024


def split_site_dir(site: str) -> Tuple[str, Optional[str], bool]:
    """Return (prefix, version, recognised) for a site dir (site-packages, app_packages ...).

    ``recognised`` is False for a site dir outside every known layout (a vendored copy): its
    prefix is then its parent directory.
    """
    prefix, version, recognised, _, _ = _layout(site)
    return prefix, version, recognised


def _layout(site: str) -> Tuple[str, Optional[str], bool, Optional[EnvKind], str]:
    """(prefix, version, recognised, kind implied, what it is) of a site dir."""
    for pattern, kind, what in _SITE_LAYOUTS:
        match = pattern.match(site)
        if match:
            groups = match.groupdict()
            return match.group("prefix") or "/", _dotted(groups.get("ver")), True, kind, what
    return site.rsplit("/", 1)[0] or "/", None, False, None, ""


def _dotted(version: Optional[str]) -> Optional[str]:
    """``312`` -> ``3.12`` (Windows directory names); anything else unchanged."""
    if version and version.isdigit() and len(version) >= 2:
        return f"{version[0]}.{version[1:]}"
    return version


def path_version(prefix: str) -> Optional[str]:
    """The Python version a prefix's own path names, if any (:data:`VERSION_IN_PATH`)."""
    for pattern in _VERSION_IN_PATH:
        match = pattern.search(prefix)
        if match:
            groups = match.groupdict()
            if groups.get("ver"):
                return groups["ver"]
            return f"{groups['major']}.{groups['minor']}"
    return None


def _tool_kind(prefix: str) -> Optional[EnvKind]:
    probe = prefix.lower() + "/"
    return next((kind for frag, kind in _TOOL_LOCATIONS if frag in probe), None)


def _layout_kind(prefix: str) -> Optional[Tuple[EnvKind, str]]:
    for pattern, kind, what in _LAYOUT_KINDS:
        if pattern.search(prefix):
            return kind, what
    return None


def _kind(
    prefix: str,
    recognised: bool,
    markers: Set[str],
    homes: Iterable[str],
    implied: Optional[EnvKind],
) -> EnvKind:
    tool = _tool_kind(prefix)
    if tool is not None:
        return tool
    if "conda-meta" in markers:
        return EnvKind.CONDA
    if "pyvenv.cfg" in markers:
        return EnvKind.VENV
    if "_pth" in markers:
        return EnvKind.EMBEDDABLE
    if any(prefix == home.rstrip("/") + "/.local" for home in homes):
        return EnvKind.USER
    layout = _layout_kind(prefix)
    if layout is not None and implied is not EnvKind.USER:
        return layout[0]
    if implied is not None:
        return implied
    if "homebrew" in markers:
        return EnvKind.HOMEBREW
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
        self.implied: Dict[str, Tuple[Optional[EnvKind], str]] = {}
        self.gaps: List[Gap] = []
        self._intel_homebrew: Optional[bool] = None

    def add_site(self, site: HostPath) -> None:
        prefix, version, recognised, kind, what = _layout(site)
        name = site.rpartition("/")[2]
        if name == "pkgs" and not self._exists(f"{prefix.rstrip('/')}/{PYNSIST_MARK}"):
            return  # a directory called pkgs (conda's cache ...), not pynsist's packages
        self.sites.setdefault(prefix, []).append(site)
        self.recognised[prefix] = self.recognised.get(prefix, False) or recognised
        if kind is not None:
            self.implied.setdefault(prefix, (kind, what))
        if version:
            self.versions.setdefault(prefix, set()).add(version)
        if name.lower() != "site-packages" or site.lower().endswith("/lib/site-packages"):
            self._windows_files(prefix, name)

    def _windows_files(self, prefix: str, name: str) -> None:
        """Versions (and the embeddable ``._pth``) from ``pythonXY.dll/.zip/._pth`` names."""
        places = [prefix.rstrip("/") or "/"]
        if name in PACKAGE_DIR_NAMES:
            places.append(f"{places[0].rstrip('/')}/{PYNSIST_MARK}")
        for place in places:
            try:
                names = [e.name for e in self.root.listdir(place)]
            except HostReadError:
                continue
            for match in filter(None, map(_WIN_DLL.match, names)):
                version = f"{match.group('major')}.{match.group('minor')}"
                self.versions.setdefault(prefix, set()).add(version)
                if match.group(0).lower().endswith("._pth") and place == places[0]:
                    self.markers.setdefault(prefix, set()).add("_pth")

    def _exists(self, path: str) -> bool:
        try:
            self.root.lstat(path)
        except HostReadError:
            return False
        return True

    def _homebrew_intel(self) -> bool:
        if self._intel_homebrew is None:
            self._intel_homebrew = any(self._exists(p) for p in HOMEBREW_INTEL_MARKS)
        return self._intel_homebrew

    def add_marker(self, prefix: HostPath, marker: str) -> None:
        self.markers.setdefault(prefix, set()).add(marker)
        self.sites.setdefault(prefix, [])
        self.recognised.setdefault(prefix, True)

    def build(self) -> List[PythonEnv]:
        """One environment per prefix; a prefix whose markers cannot be read (a hostile
        ``pyvenv.cfg`` or ``conda-meta``) is a gap and still an environment, of its bare kind."""
        return [
            guarded("discovery", prefix, self.gaps, None, self._env, prefix) or self._bare(prefix)
            for prefix in sorted(self.sites)
        ]

    def _bare(self, prefix: str) -> PythonEnv:
        markers = self.markers.get(prefix, set())
        implied = self.implied.get(prefix, (None, ""))[0]
        kind = _kind(prefix, self.recognised.get(prefix, True), markers, self.homes, implied)
        return PythonEnv(
            prefix=HostPath(prefix),
            kind=kind,
            site_dirs=tuple(sorted(self.sites[prefix])),
            python_versions=(),
            owner=None,
            detail="its markers could not be read (see the gap)",
        )

    def _env(self, prefix: str) -> PythonEnv:
        markers = self.markers.get(prefix, set())
        versions = set(self.versions.get(prefix, set()))
        detail = ""
        if "pyvenv.cfg" in markers:
            cfg_version, detail = self._read_cfg(prefix)
            versions.update([cfg_version] if cfg_version else [])
        if "conda-meta" in markers:
            versions.update(self._conda_versions(prefix))
        named = path_version(prefix)
        versions.update([named] if named else [])
        if prefix == "/usr/local" and self._homebrew_intel():
            markers = markers | {"homebrew"}
        implied, what = self.implied.get(prefix, (None, ""))
        kind = _kind(prefix, self.recognised.get(prefix, True), markers, self.homes, implied)
        layout = _layout_kind(prefix)
        if not detail and kind is not EnvKind.VENV:
            detail = what or (layout[1] if layout and layout[0] is kind else "")
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
