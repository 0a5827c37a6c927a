"""Build the deployable collector: one zipapp holding sitesweep, its pure-Python deps and the packs.

The archive runs as ``python3 -I -S agent.pyz collect ...`` with nothing installed on the target.
It is reproducible: the same sitesweep and dependencies give the same bytes, so its SHA-256 can be
pinned or allow-listed (``sitesweep build-agent`` prints it; ``sweep --agent FILE`` pushes it).
It carries the pure-Python packages the collection code imports (:data:`PURE_PYTHON_DEPS`) and
leaves out the command line (click, rich) and every compiled extension; ``sitesweep.agent`` is
its entry point. For Python 3.9 and 3.10 targets it carries ``tomli``: the installed one, or
else this interpreter's own ``tomllib`` source copied under that name (the same parser).
"""

from __future__ import annotations

import hashlib
import importlib.util
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import sitesweep
from sitesweep.errors import OutputError
from sitesweep.outputs import open_new
from sitesweep.packs import builtin_signatures_dir
from sitesweep.scratch import scratch_dir

ENTRY_POINT = "sitesweep.agent:run"
SHEBANG = b"#!/usr/bin/env python3\n"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The one timestamp of every member: the agent's bytes depend on its files' contents only."""
PURE_PYTHON_DEPS = (
    "packaging",
    "jinja2",
    "markupsafe",
    "LnkParse3",
    "yaml",
    "regipy",
    "construct",
    "inflection",
    "pytz",
)
"""Pure-Python packages the collection code imports (markupsafe's and PyYAML's C speedups are left
out: both fall back to their pure-Python implementations; PyYAML is LnkParse3's dependency)."""
_SKIP_TOP = frozenset({"cli", "signatures"})
_COMPILED = frozenset({".pyc", ".pyo", ".so", ".pyd", ".c", ".h"})


@dataclass(frozen=True)
class AgentArtifact:
    """The built agent and its SHA-256."""

    path: Path
    sha256: str


def _copy_package(source: Path, target: Path, top: bool = True) -> None:
    """Copy a pure-Python package (sources and data such as templates), never compiled files.

    At the top of sitesweep the command line (``cli``) and the signatures are left out: the
    packs are copied separately, and the agent has its own entry point.
    """
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.is_dir():
            if entry.name == "__pycache__" or (top and entry.name in _SKIP_TOP):
                continue
            _copy_package(entry, target / entry.name, top=False)
        elif entry.suffix not in _COMPILED:
            shutil.copy2(entry, target / entry.name)


def _package_dir(name: str) -> Optional[Path]:
    """Where an importable package lives, or ``None`` when it is not installed."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _tomli_source() -> Optional[Path]:
    """The ``tomli`` package directory to ship: the installed backport or the stdlib ``tomllib``."""
    try:
        import tomli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        try:
            import tomllib
        except ImportError:  # pragma: no cover - neither exists only on a broken interpreter
            return None
        return Path(tomllib.__file__).parent
    return Path(tomli.__file__).parent


def stage_agent(staging: Path) -> None:
    """Lay out the agent's files in ``staging`` (sitesweep, its pure deps, tomli, signatures).

    Raises:
        OutputError: the built-in signatures cannot be found.
    """
    _copy_package(Path(sitesweep.__file__).parent, staging / "sitesweep")
    for name in PURE_PYTHON_DEPS:
        source = _package_dir(name)
        if source is not None:
            _copy_package(source, staging / name, top=False)
    tomli = _tomli_source()
    if tomli is not None:
        _copy_package(tomli, staging / "tomli", top=False)
    signatures = builtin_signatures_dir()
    if signatures is None:
        raise OutputError("the built-in signatures are missing: cannot build the agent")
    shutil.copytree(
        signatures,
        staging / "sitesweep" / "signatures",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


def write_zipapp(staging: Path, output: Path) -> None:
    """Write ``staging`` as a zipapp at ``output``, reproducibly.

    Same files in, same bytes out: members in sorted order, every timestamp
    :data:`ZIP_EPOCH`, every mode 0644 (directories are implicit), one compression level,
    and a ``__main__.py`` that calls :data:`ENTRY_POINT`.
    """
    module, function = ENTRY_POINT.split(":")
    main = f"# -*- coding: utf-8 -*-\nimport {module}\n{module}.{function}()\n"
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    part = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
    with open_new(part) as raw:
        raw.write(SHEBANG)
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in [*files, "__main__.py"]:
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so the mode below is read as one
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                data = main.encode() if name == "__main__.py" else (staging / name).read_bytes()
                zf.writestr(info, data, compresslevel=9)
    part.chmod(0o755)
    part.replace(output)


def build_agent(output: Path) -> AgentArtifact:
    """Build the agent zipapp at ``output`` (reproducible: see :func:`write_zipapp`).

    Raises:
        OutputError: the archive cannot be written.
    """
    try:
        with scratch_dir("sitesweep-agent-build-") as scratch:
            staging = scratch / "agent"
            stage_agent(staging)
            output.parent.mkdir(parents=True, exist_ok=True)
            write_zipapp(staging, output)
    except OSError as exc:
        raise OutputError(f"cannot build the agent at {output}: {exc}") from exc
    return AgentArtifact(output, hashlib.sha256(output.read_bytes()).hexdigest())
