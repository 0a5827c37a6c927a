"""Load and validate one signature pack (``<pack-id>/pack.toml``).

The loader is strict: a pack that is wrong in any way is refused, because a silently ignored
indicator is a missed compromise. It never stops at the first problem: every problem in the file
is collected (file, dotted field name such as ``affected[0].specifiers[1]``, message) and raised at
once as one :class:`~sitesweep.errors.PackError`, so a pack author fixes everything in one round.

The format is specified in ``signatures/README.md``; keep the two in step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import os
import re
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, TypeVar
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from sitesweep.errors import PackError, PackProblem
from sitesweep.model import Severity
from sitesweep.packs.model import (
    AffectedRelease,
    ArtifactHash,
    FileIndicator,
    NetworkIndicators,
    Pack,
    PersistenceIndicator,
)
from sitesweep.packs.yararules import rule_file_problems

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

__all__ = [
    "FILE_FIELD",
    "FORMAT_VERSION",
    "PACK_FILE",
    "SYNTAX_FIELD",
    "load_pack",
]

PACK_FILE = "pack.toml"
"""Name of the data file that makes a directory a pack."""

FORMAT_VERSION = 1
"""The only value of ``format`` this loader reads."""

FILE_FIELD = "(file)"
"""Field name of problems about the file itself (missing, unreadable, not UTF-8)."""

SYNTAX_FIELD = "(syntax)"
"""Field name of a TOML syntax error; the message carries the line and column."""

Table = Mapping[str, object]
_T = TypeVar("_T")
_Convert = Callable[[str, str, "_Problems"], Optional[str]]

_MISSING = object()

_TOP_KEYS = frozenset(
    {
        "format", "id", "title", "version", "references", "window", "affected", "files",
        "artifacts", "network", "persistence", "credentials", "remediation", "yara",
    }
)  # fmt: skip
_WINDOW_KEYS = frozenset({"start", "end"})
_AFFECTED_KEYS = frozenset({"name", "specifiers", "severity", "note"})
_FILE_KEYS = frozenset(
    {"id", "name", "site_path", "sha256", "severity", "description", "name_is_indicator"}
)
_ARTIFACT_KEYS = frozenset({"sha256", "filename", "description"})
_NETWORK_KEYS = frozenset({"domains", "ips", "urls"})
_PERSISTENCE_KEYS = frozenset({"id", "path", "description", "severity"})
_REMEDIATION_KEYS = frozenset({"text", "playbook"})

_ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_DIST_NAME_RE = re.compile(r"[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9]", re.IGNORECASE)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}")
_SEVERITIES = {severity.value: severity for severity in Severity}


class _Problems:
    """Collects every problem found in one pack file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: List[PackProblem] = []

    def add(self, field: str, problem: str) -> None:
        """Record one problem about ``field``."""
        self.items.append(PackProblem(self.file, field, problem))


def load_pack(directory: Path) -> Pack:
    """Load and validate the pack in ``directory``.

    Args:
        directory: the pack directory; it holds ``pack.toml`` and its name is the pack id.

    Returns:
        The validated pack, with ``source`` set to ``directory`` and ``sha256`` to the pack's
        content hash (:func:`pack_digest`: ``pack.toml`` and every YARA file it lists).

    Raises:
        PackError: carrying every problem found, when the pack is missing, unreadable, not valid
            TOML or not a valid format-1 pack.
    """
    file = directory / PACK_FILE
    out = _Problems(str(file))
    raw = _read(file, out)
    doc = None if raw is None else _decode(raw, out)
    pack = None
    if raw is not None and doc is not None:
        pack = _parse(doc, directory, hashlib.sha256(raw).hexdigest(), out)
    if raw is None or pack is None or out.items:
        raise PackError(out.items)
    return dataclasses.replace(pack, sha256=pack_digest(raw, directory, pack.yara_files))


def pack_digest(toml: bytes, directory: Path, yara_files: Tuple[str, ...]) -> str:
    """SHA-256 over ``pack.toml`` and each listed YARA file (name and content, in order).

    A manifest that records this hash pins the rules too: editing a ``.yar`` file changes it.
    """
    sha = hashlib.sha256()
    for name, data in ((PACK_FILE, toml), *((y, (directory / y).read_bytes()) for y in yara_files)):
        sha.update(name.encode("utf-8", "surrogateescape") + b"\0")
        sha.update(hashlib.sha256(data).digest())
    return sha.hexdigest()


# --- reading -------------------------------------------------------------------------------------


def _read(file: Path, out: _Problems) -> Optional[bytes]:
    """Return the bytes of ``file``, or record why it cannot be read."""
    try:
        if not file.is_file():
            out.add(FILE_FIELD, f"{PACK_FILE} not found or not a regular file")
            return None
        return file.read_bytes()
    except OSError as exc:
        out.add(FILE_FIELD, f"cannot read: {exc.strerror or exc}")
    return None


def _decode(raw: bytes, out: _Problems) -> Optional[Dict[str, Any]]:
    """Parse ``raw`` as UTF-8 TOML, or record the decoding or syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.add(FILE_FIELD, f"not valid UTF-8 (byte {exc.start})")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.add(SYNTAX_FIELD, f"invalid TOML: {exc}")
    return None


# --- the pack ------------------------------------------------------------------------------------


def _parse(doc: Table, directory: Path, digest: str, out: _Problems) -> Optional[Pack]:
    """Validate a decoded document; return the pack, or ``None`` when anything was wrong."""
    _check_unknown(doc, _TOP_KEYS, "", out)
    if not _format_supported(doc, out):
        return None
    pack_id = _pack_id(doc, directory, out)
    title = _string(doc, "title", "", out)
    version = _string(doc, "version", "", out)
    references = _converted(doc, "references", "", out, _as_reference)
    window_start, window_end = _window(doc, out)
    affected = _affected(doc, out)
    files = _files(doc, out)
    artifacts = _artifacts(doc, out)
    network = _network(doc, out)
    persistence = _persistence(doc, out)
    credentials = _converted(doc, "credentials", "", out, _as_text)
    remediation, playbook = _remediation(doc, out)
    yara_files = _converted(doc, "yara", "", out, _yara_converter(directory))
    _check_unique(doc, ("files", "persistence"), "id", "indicator id", out)
    _check_unique(doc, ("artifacts",), "sha256", "artifact SHA-256", out)
    if out.items or pack_id is None or title is None or version is None:
        return None
    return Pack(
        id=pack_id,
        title=title,
        version=version,
        references=references,
        window_start=window_start,
        window_end=window_end,
        affected=affected,
        files=files,
        artifacts=artifacts,
        network=network,
        persistence=persistence,
        credentials=credentials,
        remediation=remediation,
        playbook=playbook,
        yara_files=yara_files,
        source=str(directory),
        sha256=digest,
    )


def _format_supported(doc: Table, out: _Problems) -> bool:
    """Check ``format``; return False when the rest must not be read as format 1."""
    value = _get(doc, "format", "", out, required=True)
    if value is _MISSING:
        return True
    if type(value) is not int:
        out.add("format", f"expected an integer, got {_describe(value)}")
        return True
    if value != FORMAT_VERSION:
        message = f"unsupported format {value}; this sitesweep reads format {FORMAT_VERSION}"
        out.add("format", message)
        return False
    return True


def _pack_id(doc: Table, directory: Path, out: _Problems) -> Optional[str]:
    """Return the pack id, which must be a valid id and equal the directory name."""
    pack_id = _ident(doc, "id", "", out)
    expected = _directory_name(directory)
    if pack_id is not None and pack_id != expected:
        out.add("id", f"{pack_id!r} does not match the pack directory name {expected!r}")
    return pack_id


def _directory_name(directory: Path) -> str:
    """Return the name of ``directory`` as given (``.`` and ``..`` resolved, symlinks not)."""
    return Path(os.path.normpath(directory.absolute())).name


def _window(doc: Table, out: _Problems) -> Tuple[Optional[datetime], Optional[datetime]]:
    """Return the incident window (UTC); both ends are required when ``[window]`` is present."""
    table = _table(doc, "window", "", out, _WINDOW_KEYS, required=False)
    if table is None:
        return None, None
    start = _timestamp(table, "start", "window", out)
    end = _timestamp(table, "end", "window", out)
    if start is not None and end is not None and start > end:
        out.add("window", f"start {start.isoformat()} is after end {end.isoformat()}")
    return start, end


def _timestamp(table: Table, key: str, where: str, out: _Problems) -> Optional[datetime]:
    """Return a required TOML offset date-time, converted to UTC."""
    value = _get(table, key, where, out, required=True)
    if value is _MISSING:
        return None
    name = _join(where, key)
    if not isinstance(value, datetime):
        out.add(name, f"expected a date-time such as 2026-03-24T10:39:24Z, got {_describe(value)}")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        out.add(name, "has no UTC offset; write it with 'Z' or '+HH:MM'")
        return None
    return value.astimezone(timezone.utc)


def _remediation(doc: Table, out: _Problems) -> Tuple[str, Optional[str]]:
    """Return the remediation text and the optional playbook path."""
    table = _table(doc, "remediation", "", out, _REMEDIATION_KEYS, required=True)
    if table is None:
        return "", None
    text = _string(table, "text", "remediation", out)
    playbook = _optional(table, "playbook", "remediation", out, _as_relative_path)
    return text or "", playbook


# --- sections ------------------------------------------------------------------------------------


def _affected(doc: Table, out: _Problems) -> Tuple[AffectedRelease, ...]:
    """Return the ``[[affected]]`` releases (at least one is required)."""
    entries = _tables(doc, "affected", out, _AFFECTED_KEYS, required=True)
    return _present(_affected_entry(table, where, out) for where, table in entries)


def _affected_entry(table: Table, where: str, out: _Problems) -> Optional[AffectedRelease]:
    """Return one affected release, or ``None`` when it has problems."""
    name = _distribution_name(table, where, out)
    specifiers = _specifiers(table, where, out)
    severity = _severity(table, where, out)
    note = _string(table, "note", where, out)
    if name is None or not specifiers or severity is None or note is None:
        return None
    return AffectedRelease(name=name, specifiers=specifiers, severity=severity, note=note)


def _distribution_name(table: Table, where: str, out: _Problems) -> Optional[NormalizedName]:
    """Return a distribution name in canonical (PEP 503) form."""
    text = _string(table, "name", where, out)
    if text is None:
        return None
    if not _DIST_NAME_RE.fullmatch(text):
        out.add(_join(where, "name"), f"{_quote(text)} is not a valid distribution name")
        return None
    return canonicalize_name(text)


def _specifiers(table: Table, where: str, out: _Problems) -> Tuple[SpecifierSet, ...]:
    """Return the PEP 440 specifier sets; a version matching any one of them is affected."""
    result = []
    for name, text in _strings(table, "specifiers", where, out, required=True):
        specifier = _as_specifier(text, name, out)
        if specifier is not None:
            result.append(specifier)
    return tuple(result)


def _as_specifier(text: str, name: str, out: _Problems) -> Optional[SpecifierSet]:
    """Parse one specifier set; refuse an empty one (it would match every version)."""
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier as exc:
        out.add(name, f"not a valid PEP 440 specifier: {exc}")
        return None
    if not len(specifier):
        out.add(name, f"{_quote(text)} holds no specifier and would match every version")
        return None
    return specifier


def _files(doc: Table, out: _Problems) -> Tuple[FileIndicator, ...]:
    """Return the ``[[files]]`` indicators."""
    entries = _tables(doc, "files", out, _FILE_KEYS, required=False)
    return _present(_file_entry(table, where, out) for where, table in entries)


def _file_entry(table: Table, where: str, out: _Problems) -> Optional[FileIndicator]:
    """Return one file indicator, or ``None`` when it has problems."""
    ident = _ident(table, "id", where, out)
    name = _optional(table, "name", where, out, _as_base_name)
    site_path = _optional(table, "site_path", where, out, _as_relative_path)
    hashes = _converted(table, "sha256", where, out, _as_sha256)
    severity = _severity(table, where, out)
    description = _string(table, "description", where, out)
    by_name = _boolean(table, "name_is_indicator", where, out, default=False)
    _check_file_can_match(table, where, out, by_name)
    if ident is None or severity is None or description is None:
        return None
    return FileIndicator(
        id=ident,
        name=name,
        site_path=site_path,
        sha256=frozenset(hashes),
        severity=severity,
        description=description,
        name_is_indicator=by_name,
    )


def _check_file_can_match(table: Table, where: str, out: _Problems, by_name: bool) -> None:
    """Refuse a file indicator that names no file or that nothing could ever match."""
    if "name" not in table and "site_path" not in table:
        out.add(where, "a file indicator needs name, site_path or both")
    elif by_name and "name" not in table:
        out.add(_join(where, "name_is_indicator"), "is true but the indicator has no name")
    if not by_name and not table.get("sha256"):
        out.add(where, "can never match: give sha256 values or set name_is_indicator = true")


def _artifacts(doc: Table, out: _Problems) -> Tuple[ArtifactHash, ...]:
    """Return the ``[[artifacts]]`` hashes."""
    entries = _tables(doc, "artifacts", out, _ARTIFACT_KEYS, required=False)
    return _present(_artifact_entry(table, where, out) for where, table in entries)


def _artifact_entry(table: Table, where: str, out: _Problems) -> Optional[ArtifactHash]:
    """Return one artifact hash, or ``None`` when it has problems."""
    sha256 = _required(table, "sha256", where, out, _as_sha256)
    filename = _required(table, "filename", where, out, _as_base_name)
    description = _string(table, "description", where, out)
    if sha256 is None or filename is None or description is None:
        return None
    return ArtifactHash(sha256=sha256, filename=filename, description=description)


def _network(doc: Table, out: _Problems) -> NetworkIndicators:
    """Return the ``[network]`` indicators (all lists optional)."""
    table = _table(doc, "network", "", out, _NETWORK_KEYS, required=False)
    if table is None:
        return NetworkIndicators()
    return NetworkIndicators(
        domains=_converted(table, "domains", "network", out, _as_domain),
        ips=_converted(table, "ips", "network", out, _as_ip),
        urls=_converted(table, "urls", "network", out, _as_url),
    )


def _persistence(doc: Table, out: _Problems) -> Tuple[PersistenceIndicator, ...]:
    """Return the ``[[persistence]]`` indicators."""
    entries = _tables(doc, "persistence", out, _PERSISTENCE_KEYS, required=False)
    return _present(_persistence_entry(table, where, out) for where, table in entries)


def _persistence_entry(table: Table, where: str, out: _Problems) -> Optional[PersistenceIndicator]:
    """Return one persistence indicator, or ``None`` when it has problems."""
    ident = _ident(table, "id", where, out)
    path = _required(table, "path", where, out, _as_host_path)
    description = _string(table, "description", where, out)
    severity = _severity(table, where, out)
    if ident is None or path is None or description is None or severity is None:
        return None
    return PersistenceIndicator(id=ident, path=path, description=description, severity=severity)


def _check_unique(
    doc: Table, sections: Tuple[str, ...], key: str, label: str, out: _Problems
) -> None:
    """Report values of ``key`` used twice across the array-of-tables ``sections``."""
    seen: Dict[str, str] = {}
    for section in sections:
        items = doc.get(section)
        for index, item in enumerate(items if isinstance(items, list) else ()):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            where = f"{section}[{index}].{key}"
            first = seen.setdefault(value.lower(), where)
            if first != where:
                out.add(where, f"duplicate {label} {_quote(value)} (first used at {first})")


# --- value converters: (text, field name, problems) -> normalised text or None --------------------


def _as_text(text: str, name: str, out: _Problems) -> Optional[str]:
    """Accept any non-empty string as it is."""
    return text


def _as_sha256(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return a SHA-256 in lower-case hex."""
    lowered = text.lower()
    if _SHA256_RE.fullmatch(lowered):
        return lowered
    out.add(name, f"{_quote(text)} is not a SHA-256 (64 hexadecimal characters)")
    return None


def _as_base_name(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return a file base name (no directory part)."""
    if "/" in text or "\\" in text or "\0" in text or text in (".", ".."):
        out.add(name, f"{_quote(text)} must be a plain file name, without '/'")
        return None
    return text


def _as_relative_path(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return a relative POSIX path that cannot climb out of its base (``..``)."""
    problem = _relative_path_problem(text)
    if problem is not None:
        out.add(name, f"{_quote(text)} {problem}")
        return None
    return str(PurePosixPath(text))


def _relative_path_problem(text: str) -> Optional[str]:
    """Return why ``text`` is not an acceptable relative POSIX path, or ``None``."""
    path = PurePosixPath(text)
    if "\\" in text or "\0" in text:
        return "must be a POSIX path ('/' separators, no backslash or NUL)"
    if path.is_absolute() or text.startswith("~"):
        return "must be a relative path"
    if ".." in path.parts:
        return "must not contain '..'"
    if not path.parts:
        return "must name a file"
    return None


def _as_host_path(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return an absolute host path, or one under ``~/`` (every home directory)."""
    prefix = "~/" if text.startswith("~/") else "/" if text.startswith("/") else None
    if prefix is None:
        out.add(name, f"{_quote(text)} must be absolute or start with '~/' (every home)")
        return None
    rest = text[len(prefix) :]
    problem = _relative_path_problem(rest) if rest else "must name a file or directory"
    if problem is not None:
        out.add(name, f"{_quote(text)} {problem}")
        return None
    return prefix + str(PurePosixPath(rest))


def _as_domain(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return a domain name in lower case."""
    lowered = text.lower()
    if _DOMAIN_RE.fullmatch(lowered):
        return lowered
    out.add(name, f"{_quote(text)} is not a domain name (no scheme, port, path or trailing dot)")
    return None


def _as_ip(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return an IPv4 or IPv6 address in its canonical text form."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        out.add(name, f"{_quote(text)} is not an IP address")
    return None


def _as_url(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return a URL that has a scheme and a host."""
    parts = urlsplit(text)
    if parts.scheme and parts.netloc and not any(c.isspace() for c in text):
        return text
    out.add(name, f"{_quote(text)} is not an absolute URL (scheme://host/...)")
    return None


def _as_reference(text: str, name: str, out: _Problems) -> Optional[str]:
    """Return an ``http`` or ``https`` URL."""
    url = _as_url(text, name, out)
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        out.add(name, f"{_quote(text)} must be an http or https URL")
        return None
    return url


def _yara_converter(directory: Path) -> _Convert:
    """Return a converter that accepts YARA files existing inside ``directory``."""

    def convert(text: str, name: str, out: _Problems) -> Optional[str]:
        relative = _as_relative_path(text, name, out)
        if relative is None:
            return None
        problem = _pack_file_problem(directory, relative)
        if problem is not None:
            out.add(name, f"{_quote(text)} {problem}")
            return None
        rule_file = str(directory / relative)
        out.items += [PackProblem(rule_file, name, p) for p in rule_file_problems(Path(rule_file))]
        return relative

    return convert


def _pack_file_problem(directory: Path, relative: str) -> Optional[str]:
    """Return why ``relative`` is not a regular file inside ``directory``, or ``None``."""
    try:
        base = directory.resolve()
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            return "resolves outside the pack directory"
        if not target.is_file():
            return "is not a file in the pack directory"
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop before Python 3.13
        return f"cannot be read: {exc}"
    return None


# --- typed field access --------------------------------------------------------------------------


def _join(where: str, key: str) -> str:
    """Return the dotted field name of ``key`` inside ``where``."""
    return f"{where}.{key}" if where else key


def _get(table: Table, key: str, where: str, out: _Problems, *, required: bool) -> object:
    """Return ``table[key]``, or ``_MISSING`` (recorded as a problem when ``required``)."""
    value = table.get(key, _MISSING)
    if value is _MISSING and required:
        out.add(_join(where, key), "required field is missing")
    return value


def _check_unknown(table: Table, allowed: FrozenSet[str], where: str, out: _Problems) -> None:
    """Record every key of ``table`` that the format does not define."""
    for key in table:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            out.add(_join(where, key), f"unknown field (expected one of: {expected})")


def _as_string(value: object, name: str, out: _Problems) -> Optional[str]:
    """Return ``value`` when it is a non-blank string."""
    if isinstance(value, str) and value.strip():
        return value
    out.add(name, f"expected a non-empty string, got {_describe(value)}")
    return None


def _string(table: Table, key: str, where: str, out: _Problems) -> Optional[str]:
    """Return a required non-empty string field."""
    value = _get(table, key, where, out, required=True)
    return None if value is _MISSING else _as_string(value, _join(where, key), out)


def _required(
    table: Table, key: str, where: str, out: _Problems, convert: _Convert
) -> Optional[str]:
    """Return a required string field after ``convert``."""
    text = _string(table, key, where, out)
    return None if text is None else convert(text, _join(where, key), out)


def _optional(
    table: Table, key: str, where: str, out: _Problems, convert: _Convert
) -> Optional[str]:
    """Return an optional string field after ``convert``; ``None`` when absent."""
    if key not in table:
        return None
    return _required(table, key, where, out, convert)


def _ident(table: Table, key: str, where: str, out: _Problems) -> Optional[str]:
    """Return a required id: lower-case letters, digits, ``.``, ``_`` and ``-``."""
    text = _string(table, key, where, out)
    if text is not None and not _ID_RE.fullmatch(text):
        out.add(
            _join(where, key),
            f"{_quote(text)} is not a valid id (lower-case letters, digits, '.', '_', '-')",
        )
        return None
    return text


def _boolean(table: Table, key: str, where: str, out: _Problems, *, default: bool) -> bool:
    """Return an optional boolean field."""
    value = table.get(key, default)
    if isinstance(value, bool):
        return value
    out.add(_join(where, key), f"expected true or false, got {_describe(value)}")
    return default


def _severity(table: Table, where: str, out: _Problems) -> Optional[Severity]:
    """Return the required ``severity`` field as a :class:`Severity`."""
    text = _string(table, "severity", where, out)
    if text is None:
        return None
    severity = _SEVERITIES.get(text)
    if severity is None:
        allowed = ", ".join(_SEVERITIES)
        out.add(_join(where, "severity"), f"{_quote(text)} is not a severity (one of: {allowed})")
    return severity


def _table(
    doc: Table, key: str, where: str, out: _Problems, allowed: FrozenSet[str], *, required: bool
) -> Optional[Table]:
    """Return a sub-table, after recording its unknown keys."""
    value = _get(doc, key, where, out, required=required)
    if value is _MISSING:
        return None
    name = _join(where, key)
    if not isinstance(value, dict):
        out.add(name, f"expected a table, got {_describe(value)}")
        return None
    _check_unknown(value, allowed, name, out)
    return value


def _array(
    table: Table, key: str, where: str, out: _Problems, *, required: bool
) -> List[Tuple[str, object]]:
    """Return ``(field name, item)`` for each item of an array; a required array is non-empty."""
    value = _get(table, key, where, out, required=required)
    if value is _MISSING:
        return []
    name = _join(where, key)
    if not isinstance(value, list):
        out.add(name, f"expected an array, got {_describe(value)}")
        return []
    if required and not value:
        out.add(name, "must not be empty")
    return [(f"{name}[{index}]", item) for index, item in enumerate(value)]


def _strings(
    table: Table, key: str, where: str, out: _Problems, *, required: bool
) -> List[Tuple[str, str]]:
    """Return ``(field name, text)`` for each valid item of an array of strings."""
    result = []
    for name, item in _array(table, key, where, out, required=required):
        text = _as_string(item, name, out)
        if text is not None:
            result.append((name, text))
    return result


def _converted(
    table: Table, key: str, where: str, out: _Problems, convert: _Convert
) -> Tuple[str, ...]:
    """Return an optional array of strings, each passed through ``convert``."""
    items = _strings(table, key, where, out, required=False)
    return _present(convert(text, name, out) for name, text in items)


def _tables(
    doc: Table, key: str, out: _Problems, allowed: FrozenSet[str], *, required: bool
) -> List[Tuple[str, Table]]:
    """Return ``(field name, table)`` for each table of a top-level array of tables."""
    result: List[Tuple[str, Table]] = []
    for name, item in _array(doc, key, "", out, required=required):
        if isinstance(item, dict):
            _check_unknown(item, allowed, name, out)
            result.append((name, item))
        else:
            out.add(name, f"expected a table, got {_describe(item)}")
    return result


def _present(items: Iterable[Optional[_T]]) -> Tuple[_T, ...]:
    """Return the items that are not ``None``, in order."""
    return tuple(item for item in items if item is not None)


def _describe(value: object) -> str:
    """Name the TOML type of ``value`` for a message."""
    if isinstance(value, str):
        return "a string" if value.strip() else "an empty string"
    kinds: Tuple[Tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((label for kind, label in kinds if isinstance(value, kind)), type(value).__name__)


def _quote(text: str, limit: int = 80) -> str:
    """Quote ``text`` for a message, shortened when long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."
