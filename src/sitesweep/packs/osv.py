"""Read OSV records of malicious PyPI packages (the ``MAL-`` entries of ossf/malicious-packages).

OSV schema (https://ossf.github.io/osv-schema/): a record has ``id``, ``modified``,
``published``, ``aliases``, ``summary``, ``details``, ``affected[]`` (each with
``package{ecosystem,name}``, ``versions[]`` and ``ranges[{type, events[]}]``, events being
``introduced``/``fixed``/``last_affected``/``limit``), ``references[{type,url}]`` and
``database_specific`` (ossf/malicious-packages puts ``iocs{domains,urls}`` there).

This module turns them into plain :class:`OsvRecord` values with PEP 440 specifier strings; it
never fails on one bad record or value: each is skipped with an :class:`OsvSkip` saying why.
:mod:`sitesweep.packs.osv_pack` writes the pack.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from sitesweep.errors import OsvImportError

__all__ = ["OsvAffected", "OsvRecord", "OsvSkip", "read_records"]

ALL_VERSIONS = ">=0.dev0"
"""The specifier for ``introduced: "0"`` with no upper bound: every PEP 440 version."""

_PYPI = "pypi"
_RANGE_TYPES = frozenset({"ECOSYSTEM", "SEMVER"})
_NAME_RE = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}")
_UPPER_KINDS = {"fixed": "<", "limit": "<", "last_affected": "<="}

Json = Mapping[str, Any]


@dataclass(frozen=True)
class OsvSkip:
    """Something in the input that was not imported, and why."""

    source: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.reason}"


@dataclass(frozen=True)
class OsvAffected:
    """One PyPI package of a record: its name and the specifier strings of its bad versions."""

    name: str
    specifiers: Tuple[str, ...]


@dataclass(frozen=True)
class OsvRecord:
    """The parts of one OSV record a pack needs."""

    id: str
    source: str
    summary: str
    aliases: Tuple[str, ...]
    published: str
    modified: str
    affected: Tuple[OsvAffected, ...]
    references: Tuple[str, ...]
    domains: Tuple[str, ...]
    ips: Tuple[str, ...]
    urls: Tuple[str, ...]


class _Skips:
    """Collects skipped items for one input file."""

    def __init__(self, source: str, items: List[OsvSkip]) -> None:
        self.source = source
        self.items = items

    def add(self, where: str, reason: str) -> None:
        self.items.append(OsvSkip(self.source, where, reason))


def read_records(source: Path) -> Tuple[Tuple[OsvRecord, ...], Tuple[OsvSkip, ...]]:
    """Read every OSV record in ``source`` (a ``.json`` file, or a directory searched recursively).

    Returns:
        The records with at least one PyPI package to import, and everything skipped.

    Raises:
        OsvImportError: ``source`` is neither a file nor a directory, or cannot be listed.
    """
    skipped: List[OsvSkip] = []
    records: List[OsvRecord] = []
    for path in _json_files(source):
        out = _Skips(str(path), skipped)
        for where, doc in _documents(path, out):
            record = _record(doc, where, out)
            if record is not None:
                records.append(record)
    return tuple(records), tuple(skipped)


def _json_files(source: Path) -> List[Path]:
    """Return ``source`` itself, or every ``*.json`` file under it, sorted."""
    try:
        if source.is_file():
            return [source]
        if source.is_dir():
            return sorted(p for p in source.rglob("*.json") if p.is_file())
    except OSError as exc:
        raise OsvImportError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    raise OsvImportError(f"{source}: no such file or directory")


def _documents(path: Path, out: _Skips) -> List[Tuple[str, Json]]:
    """Return the record objects in one file: one object, or a JSON array of them."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        out.add("(file)", f"not a readable UTF-8 JSON file: {exc}")
        return []
    items = doc if isinstance(doc, list) else [doc]
    result: List[Tuple[str, Json]] = []
    for index, item in enumerate(items):
        where = f"[{index}]" if isinstance(doc, list) else "(record)"
        if isinstance(item, dict):
            result.append((where, item))
        else:
            out.add(where, "not a JSON object")
    return result


def _record(doc: Json, where: str, out: _Skips) -> Optional[OsvRecord]:
    """Return the record's PyPI part, or ``None`` (with the reason recorded)."""
    ident = _text(doc.get("id"))
    if not ident:
        out.add(where, "no id: not an OSV record")
        return None
    if doc.get("withdrawn"):
        out.add(ident, "withdrawn record")
        return None
    aliases = _texts(doc.get("aliases"))
    if not _is_malicious(ident, aliases, doc):
        out.add(ident, "not a malicious-package record (no MAL- id or alias)")
        return None
    affected = _affected(ident, doc.get("affected"), out)
    if not affected:
        out.add(ident, "no PyPI package with importable versions")
        return None
    specific = [doc.get("database_specific")]
    specific += [a.get("database_specific") for a in _objects(doc.get("affected"))]
    domains, ips, urls = _iocs(ident, specific, out)
    return OsvRecord(
        id=ident,
        source=out.source,
        summary=_one_line(_text(doc.get("summary"))),
        aliases=aliases,
        published=_text(doc.get("published")),
        modified=_text(doc.get("modified")),
        affected=affected,
        references=_references(doc.get("references")),
        domains=domains,
        ips=ips,
        urls=urls,
    )


def _is_malicious(ident: str, aliases: Sequence[str], doc: Json) -> bool:
    """Return whether the record is a malicious-package (``MAL-``) entry."""
    if any(name.upper().startswith("MAL-") for name in (ident, *aliases)):
        return True
    specific = doc.get("database_specific")
    return isinstance(specific, dict) and "malicious-packages-origins" in specific


def _affected(ident: str, value: object, out: _Skips) -> Tuple[OsvAffected, ...]:
    """Return the record's PyPI packages with their specifiers."""
    result = []
    for index, entry in enumerate(_objects(value)):
        where = f"{ident} affected[{index}]"
        package = entry.get("package")
        package = package if isinstance(package, dict) else {}
        ecosystem = _text(package.get("ecosystem"))
        if ecosystem.lower() != _PYPI:
            out.add(where, f"ecosystem {ecosystem or '(none)'!r} is not PyPI")
            continue
        name = _text(package.get("name"))
        if not _NAME_RE.fullmatch(name):
            out.add(where, f"{name!r} is not a valid distribution name")
            continue
        specifiers = _version_specifiers(entry.get("versions"), where, out)
        specifiers += _range_specifiers(entry.get("ranges"), where, out)
        if specifiers:
            result.append(OsvAffected(name=name, specifiers=tuple(dict.fromkeys(specifiers))))
        else:
            out.add(where, "no versions or ranges that PEP 440 can express")
    return tuple(result)


def _version_specifiers(value: object, where: str, out: _Skips) -> List[str]:
    """Return ``==v`` for every listed version that PEP 440 accepts."""
    result = []
    for index, version in enumerate(_texts(value)):
        specifier = f"=={version}"
        if _is_version(version) and _valid_specifier(specifier, 1):
            result.append(specifier)
        else:
            out.add(f"{where}.versions[{index}]", f"{version!r} is not a PEP 440 version")
    return result


def _range_specifiers(value: object, where: str, out: _Skips) -> List[str]:
    """Return one specifier string per affected interval of every ECOSYSTEM/SEMVER range."""
    result: List[str] = []
    for index, entry in enumerate(_objects(value)):
        name = f"{where}.ranges[{index}]"
        kind = _text(entry.get("type"))
        if kind not in _RANGE_TYPES:
            out.add(name, f"range type {kind or '(none)'!r} cannot be expressed in PEP 440")
            continue
        events = _events(entry.get("events"), name, out)
        if events is not None:
            result.extend(_intervals(events))
    return result


def _events(value: object, where: str, out: _Skips) -> Optional[List[Tuple[str, str]]]:
    """Return ``(kind, version)`` events sorted by version, or ``None`` if any is unusable."""
    events = []
    for entry in _objects(value):
        for kind, version in entry.items():
            text = _text(version)
            if kind not in ("introduced", *_UPPER_KINDS) or not text:
                out.add(where, f"unknown or empty event {kind!r}")
                return None
            if not (kind == "introduced" and text == "0") and not _is_version(text):
                out.add(where, f"{kind} {text!r} is not a PEP 440 version")
                return None
            events.append((kind, text))
    if not events:
        out.add(where, "range without events")
        return None
    return sorted(events, key=_event_key)


def _event_key(event: Tuple[str, str]) -> Tuple[int, Version]:
    """Sort ``introduced: "0"`` first, then by version (stable for equal versions)."""
    kind, text = event
    if kind == "introduced" and text == "0":
        return (0, Version("0"))
    return (1, Version(text))


def _intervals(events: Sequence[Tuple[str, str]]) -> List[str]:
    """Turn sorted events into specifier strings, one per affected interval.

    ``introduced`` opens an interval (``"0"``: no lower bound); ``fixed`` and ``limit`` close it
    before that version, ``last_affected`` after it. An interval still open at the end has no
    upper bound.
    """
    result = []
    lower: Optional[str] = None
    is_open = False
    for kind, version in events:
        if kind == "introduced":
            if not is_open:
                lower, is_open = version, True
            continue
        if is_open:
            result.append(_interval(lower, f"{_UPPER_KINDS[kind]}{version}"))
            is_open = False
    if is_open:
        result.append(_interval(lower, None))
    return [spec for spec in result if _valid_specifier(spec, spec.count(",") + 1)]


def _interval(lower: Optional[str], upper: Optional[str]) -> str:
    """Return the specifier string of one interval."""
    parts = [] if lower in (None, "0") else [f">={lower}"]
    if upper is not None:
        parts.append(upper)
    return ",".join(parts) or ALL_VERSIONS


def _iocs(
    ident: str, tables: Sequence[object], out: _Skips
) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
    """Return the domains, IPs and URLs of every ``database_specific.iocs`` table."""
    domains: Dict[str, None] = {}
    ips: Dict[str, None] = {}
    urls: Dict[str, None] = {}
    for table in tables:
        iocs = table.get("iocs") if isinstance(table, dict) else None
        if not isinstance(iocs, dict):
            continue
        for raw in _texts(iocs.get("domains")):
            _keep(_domain(raw), domains, ident, f"domain {raw!r}", out)
        for raw in _texts(iocs.get("ips")):
            _keep(_ip(raw), ips, ident, f"IP {raw!r}", out)
        for raw in _texts(iocs.get("urls")):
            _keep(_url(raw), urls, ident, f"URL {raw!r}", out)
    return tuple(domains), tuple(ips), tuple(urls)


def _keep(value: Optional[str], into: Dict[str, None], ident: str, what: str, out: _Skips) -> None:
    """Add a valid IoC, or record why it was left out."""
    if value is None:
        out.add(ident, f"{what} is not valid for a pack")
    else:
        into[value] = None


def _domain(text: str) -> Optional[str]:
    """Return a domain name in lower case without a trailing dot, or ``None``."""
    lowered = text.strip().lower().rstrip(".")
    return lowered if _DOMAIN_RE.fullmatch(lowered) else None


def _ip(text: str) -> Optional[str]:
    """Return an IP address in canonical form, or ``None``."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _url(text: str) -> Optional[str]:
    """Return an absolute URL (scheme and host, no whitespace), or ``None``."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme and parts.netloc and not any(c.isspace() for c in text):
        return text
    return None


def _references(value: object) -> Tuple[str, ...]:
    """Return the record's http(s) reference URLs."""
    urls = (_url(_text(ref.get("url"))) for ref in _objects(value))
    return tuple(u for u in urls if u and urlsplit(u).scheme in ("http", "https"))


def _valid_specifier(text: str, count: int) -> bool:
    """Return whether ``text`` parses as exactly ``count`` PEP 440 specifiers."""
    try:
        return len(SpecifierSet(text)) == count
    except InvalidSpecifier:
        return False


def _is_version(text: str) -> bool:
    """Return whether ``text`` is a PEP 440 version."""
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _objects(value: object) -> List[Json]:
    """Return the JSON objects in a list (anything else: none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _texts(value: object) -> Tuple[str, ...]:
    """Return the non-blank strings in a list (anything else: none)."""
    if not isinstance(value, list):
        return ()
    return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())


def _text(value: object) -> str:
    """Return a stripped string, or ``""`` for anything else."""
    return value.strip() if isinstance(value, str) else ""


def _one_line(text: str) -> str:
    """Collapse whitespace (newlines included) to single spaces."""
    return " ".join(text.split())
