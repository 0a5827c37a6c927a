"""Lockfiles and requirement files: which versions projects on the host pin (observation only).

A pin of an affected version brings the release back on the next ``uv sync`` or
``pip install -r``. The walk notes candidate files by name (:data:`LOCKFILE_NAMES` and
``requirements*.txt``); this module parses each as data (TOML, JSON or lines), leniently: what it
cannot understand is kept as a problem on the :class:`LockFile`, and a file it cannot read at all
becomes a gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from packaging.utils import canonicalize_name

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.parsing import TooDeepError, guarded, loads_json, loads_toml
from sitesweep.redact import redact_text

AREA = "lockfiles"

LOCKFILE_TOOLS = {
    "uv.lock": "uv",
    "poetry.lock": "poetry",
    "Pipfile.lock": "pipenv",
    "pdm.lock": "pdm",
    "pylock.toml": "pylock",
    "environment.yml": "conda",
    "environment.yaml": "conda",
}
LOCKFILE_NAMES = frozenset(LOCKFILE_TOOLS)
"""Exact file names the walk notes (``requirements*.txt`` is matched by pattern)."""

LOCKFILE_LIMIT = 32 << 20
"""uv.lock of a large monorepo runs to a few MiB; anything far larger is refused."""

MAX_PROBLEMS = 20

_TOML_TABLES = {"uv": "package", "poetry": "package", "pdm": "package", "pylock": "packages"}
_REQ_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;#]*)"
)
_EXACT = re.compile(r"^\s*===?\s*(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*$")
_CONDA_ITEM = re.compile(
    r"^(?:[A-Za-z0-9_.-]+::)?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>[<>=!~][^#]*)?$"
)


def is_requirements_name(name: str) -> bool:
    """Return whether a file name looks like ``requirements*.txt``."""
    return name.startswith("requirements") and name.endswith(".txt")


@dataclass(frozen=True)
class LockPin:
    """One package a lockfile or requirement file names.

    Attributes:
        name: canonical (PEP 503) name.
        version: the exact pinned version, or ``None`` when the file gives a range or nothing.
        spec: the requirement text as written (the specifier part), for the responder.
        line: line number where line-based formats name it.
    """

    name: str
    version: Optional[str]
    spec: str = ""
    line: Optional[int] = None


@dataclass(frozen=True)
class LockFile:
    """A lockfile or requirement file and what it pins.

    Attributes:
        path: host path.
        tool: which tool's format (uv, poetry, pipenv, pdm, pylock, pip, conda).
        pins: the packages it names.
        problems: what could not be parsed (first :data:`MAX_PROBLEMS`).
    """

    path: HostPath
    tool: str
    pins: Tuple[LockPin, ...]
    problems: Tuple[str, ...] = ()


def tool_for(filename: str) -> Optional[str]:
    """Return the format of a lockfile by its name, or ``None`` when it is not one."""
    if filename in LOCKFILE_TOOLS:
        return LOCKFILE_TOOLS[filename]
    return "pip" if is_requirements_name(filename) else None


def _pin(name: object, version: object, problems: List[str], where: str) -> Optional[LockPin]:
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: no package name")
        return None
    text = version if isinstance(version, str) else None
    return LockPin(canonicalize_name(name), text, f"=={text}" if text else "")


def parse_toml_lock(text: str, tool: str, problems: List[str]) -> List[LockPin]:
    """Parse uv.lock, poetry.lock, pdm.lock (``[[package]]``) or pylock.toml (``[[packages]]``)."""
    try:
        data = loads_toml(text)
    except TooDeepError:
        raise  # the file as a whole is refused: a gap (parsing.guarded), no lockfile entry
    except ValueError as exc:  # TOMLDecodeError
        problems.append(f"TOML: {exc}")
        return []
    table = data.get(_TOML_TABLES[tool], [])
    if not isinstance(table, list):
        problems.append(f"{_TOML_TABLES[tool]} is not an array of tables")
        return []
    pins: List[LockPin] = []
    for index, item in enumerate(table):
        where = f"{_TOML_TABLES[tool]}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not a table")
            continue
        pin = _pin(item.get("name"), item.get("version"), problems, where)
        if pin is not None:
            pins.append(pin)
    return pins


def parse_pipfile_lock(text: str, problems: List[str]) -> List[LockPin]:
    """Parse Pipfile.lock (JSON: every section but ``_meta`` maps name -> {"version": "==x"})."""
    try:
        data = loads_json(text)
    except TooDeepError:
        raise  # the file as a whole is refused: a gap (parsing.guarded), no lockfile entry
    except ValueError as exc:
        problems.append(f"JSON: {exc}")
        return []
    if not isinstance(data, dict):
        problems.append("not a JSON object")
        return []
    pins: List[LockPin] = []
    for section, packages in sorted(data.items()):
        if section == "_meta" or not isinstance(packages, dict):
            continue
        for name, entry in sorted(packages.items()):
            spec = entry.get("version") if isinstance(entry, dict) else None
            spec = spec if isinstance(spec, str) else ""
            match = _EXACT.match(spec)
            pins.append(
                LockPin(canonicalize_name(name), match.group("version") if match else None, spec)
            )
    return pins


def _logical_lines(text: str) -> Iterable[Tuple[int, str]]:
    """Yield (first line number, text) with backslash continuations joined."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        yield start, pending + raw
        pending = ""
    if pending:
        yield start, pending


def parse_requirements(text: str, problems: List[str]) -> List[LockPin]:
    """Parse a pip requirements file: ``name[extras] ==version ; markers --hash=...`` lines."""
    pins: List[LockPin] = []
    for number, line in _logical_lines(text):
        body = line.split(" #", 1)[0].strip()
        if not body or body.startswith(("#", "-", "git+", "http:", "https:", "file:", ".", "/")):
            continue
        body = body.split(" --", 1)[0].strip()
        match = _REQ_LINE.match(body)
        if match is None:
            problems.append(f"line {number}: not understood: {redact_text(body)[:80]!r}")
            continue
        spec = match.group("spec").strip()
        exact = _EXACT.match(spec)
        version = exact.group("version") if exact else None
        name = canonicalize_name(match.group("name"))
        pins.append(LockPin(name, version, redact_text(spec), number))
    return pins


def _conda_pin(item: str, number: int, pip_section: bool) -> Optional[LockPin]:
    if pip_section:
        found = parse_requirements(item, [])
        return LockPin(found[0].name, found[0].version, found[0].spec, number) if found else None
    match = _CONDA_ITEM.match(item)
    if match is None:
        return None
    spec = (match.group("spec") or "").strip()
    version: Optional[str] = None
    if spec.startswith("=") and not spec.startswith("=="):
        version = spec[1:].split("=", 1)[0].strip() or None  # name=version=build
    elif spec.startswith("=="):
        version = spec[2:].split("=", 1)[0].strip() or None
    if version is not None and ("*" in version or not version[0].isdigit()):
        version = None
    return LockPin(canonicalize_name(match.group("name")), version, redact_text(spec), number)


def parse_environment_yml(text: str, problems: List[str]) -> List[LockPin]:
    """Parse the ``dependencies:`` items of a conda environment.yml (its ``- pip:`` list too)."""
    pins: List[LockPin] = []
    pip_indent: Optional[int] = None
    section = ""
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        if indent == 0 and stripped and not stripped.startswith(("-", "#")):
            section = stripped.split(":", 1)[0].strip()
        if section != "dependencies" or not stripped.startswith("- "):
            continue
        item = stripped[2:].split(" #", 1)[0].strip().strip("'\"")
        if pip_indent is not None and indent <= pip_indent:
            pip_indent = None
        if item.rstrip() == "pip:":
            pip_indent = indent
            continue
        if not item or item.endswith(":"):
            continue
        pin = _conda_pin(item, number, pip_indent is not None)
        if pin is None:
            problems.append(f"line {number}: not understood: {redact_text(item)[:80]!r}")
        else:
            pins.append(pin)
    return pins


def parse_lockfile(text: str, tool: str, problems: List[str]) -> List[LockPin]:
    """Parse a lockfile's text in ``tool``'s format."""
    if tool in _TOML_TABLES:
        return parse_toml_lock(text, tool, problems)
    if tool == "pipenv":
        return parse_pipfile_lock(text, problems)
    if tool == "conda":
        return parse_environment_yml(text, problems)
    return parse_requirements(text, problems)


def read_lockfiles(root: HostRoot, paths: Iterable[str], gaps: List[Gap]) -> Tuple[LockFile, ...]:
    """Read and parse every lockfile the walk noted; unreadable ones become gaps."""
    found: List[LockFile] = []
    for path in sorted(set(paths)):
        tool = tool_for(path.rsplit("/", 1)[-1])
        if tool is None:
            continue
        try:
            text = root.read_text(path, LOCKFILE_LIMIT)
        except HostReadError as exc:
            gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
            continue
        problems: List[str] = []
        parsed = guarded(AREA, path, gaps, None, parse_lockfile, text, tool, problems)
        if parsed is None:
            continue
        pins = parsed
        if problems and not pins:
            gaps.append(Gap(AREA, HostPath(path), GapReason.PARSE_ERROR, problems[0]))
        found.append(LockFile(HostPath(path), tool, tuple(pins), tuple(problems[:MAX_PROBLEMS])))
    return tuple(found)
