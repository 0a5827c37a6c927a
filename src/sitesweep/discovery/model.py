"""Types that say where the Python environments on a host are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from sitesweep.model import HostPath, StrEnum


class EnvKind(StrEnum):
    """What kind of Python environment a prefix is."""

    SYSTEM = "system"
    USER = "user-site"
    VENV = "venv"
    CONDA = "conda"
    PYENV = "pyenv"
    PIPX = "pipx"
    UV_TOOL = "uv-tool"
    UV_PYTHON = "uv-python"
    POETRY = "poetry"
    PDM = "pdm"
    HATCH = "hatch"
    TOX = "tox"
    NOX = "nox"
    VIRTUALENVWRAPPER = "virtualenvwrapper"
    EMBEDDED = "embedded"
    VENDORED = "vendored"
    CONTAINER = "container-layer"
    PYTHON_ORG = "python.org"
    """A python.org installer's Python: the macOS framework, ``Program Files\\PythonXY``,
    ``AppData\\Local\\Programs\\Python\\PythonXY``."""
    COMMAND_LINE_TOOLS = "command-line-tools"
    """Apple's Command Line Tools' Python3.framework."""
    XCODE = "xcode"
    """The Python inside Xcode.app."""
    HOMEBREW = "homebrew"
    """Homebrew's Python: ``/opt/homebrew`` (Apple silicon), ``/usr/local`` + Cellar (Intel)."""
    MS_STORE = "ms-store"
    """The Microsoft Store's Python (``WindowsApps\\PythonSoftwareFoundation.Python...``)."""
    APP_BUNDLE = "app-bundle"
    """An application's own Python or packages (a macOS ``.app``, Briefcase ``app_packages``,
    pynsist ``pkgs``)."""
    EMBEDDABLE = "embeddable"
    """Windows' embeddable zip distribution (``pythonXY._pth`` beside ``pythonXY.zip``)."""


class FsPolicy(StrEnum):
    """Which mounted filesystems the walk enters."""

    LOCAL = "local"
    """Live scans enter local disk filesystems and tmpfs, not network or pseudo filesystems;
    scans of a ``--root`` tree enter everything under it (the analyst assembled it)."""
    ONE = "one"
    """Never leave the root's filesystem."""
    ALL = "all"
    """Enter every filesystem (network mounts included)."""


@dataclass(frozen=True)
class PythonEnv:
    """One Python environment found on the host.

    Attributes:
        prefix: the environment's prefix directory.
        kind: what kind of environment it is.
        site_dirs: its site-packages / dist-packages directories.
        python_versions: interpreter versions read from files (pyvenv.cfg, lib/pythonX.Y names,
            conda-meta records); never by running anything.
        owner: user name (or uid) owning the prefix.
        detail: extra words: the inner kind of a container layer, the pyvenv.cfg ``home``.
    """

    prefix: HostPath
    kind: EnvKind
    site_dirs: Tuple[HostPath, ...]
    python_versions: Tuple[str, ...]
    owner: Optional[str]
    detail: str = ""
