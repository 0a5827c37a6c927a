"""Read OSV records of malicious PyPI packages (the ``MAL-`` entries of ossf/malicious-packages).

OSV schema (https://ossf.github.io/osv-schema/): a record has ``id``, ``modified``,
``published``, ``aliases``, ``summary``, ``details``, ``affected[]`` (each with
``package{ecosystem,name}``, ``versions[]`` and ``ranges[{type, events[]}]``, events being
``introduced``/``fixed``/``last_affected``/``limit``), ``references[{type,url}]`` and
``database_specific`` (ossf/malicious-packages puts ``iocs{domains,urls}`` there; Amazon
Inspector's records carry ``affected[].database_specific.indicators`` with domains, IPs, the
injected files' and the released artifacts' SHA-256s, and second stages with their URL, hash and
persistence paths). Input is one ``.json`` file, a directory of them, or the OSV bulk export
``all.zip``.

This module turns them into plain :class:`OsvRecord` values with PEP 440 specifier strings; it
never fails on one bad record or value: each is skipped with an :class:`OsvSkip` saying why.
:mod:`sitesweep.packs.osv_pack` writes the pack.
"""

from __future__ import annotations

import ipaddress
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple
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
    files: Tuple[Tuple[str, str], ...] = ()
    """(path inside the release, SHA-256) of injected files."""
    artifacts: Tuple[Tuple[str, str], ...] = ()
    """(file name, SHA-256) of released artifacts and second stages."""
    persistence: Tuple[str, ...] = ()
    """Host paths the payload persists at (``~/`` for a home)."""
    names: Tuple[str, ...] = ()
    """File names whose presence is an indicator (second stages, persistence units)."""
    details: str = ""
    """The record's prose, on one line (payload families are recognised in it)."""


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
    for label, stem, data in _inputs(source, skipped):
        out = _Skips(label, skipped)
        for where, doc in _documents(data, out):
            record = _record(doc, where, out, stem)
            if record is not None:
                records.append(record)
    return tuple(records), tuple(skipped)


def _inputs(source: Path, skipped: List[OsvSkip]) -> Iterator[Tuple[str, str, Optional[bytes]]]:
    """Yield (label, file stem, content) for every record file: plain or in a zip export.

    Content is ``None`` when the file could not be read (the reason is a skip).
    """
    if source.is_file() and zipfile.is_zipfile(source):
        yield from _zip_members(source, skipped)
        return
    for path in _json_files(source):
        try:
            yield str(path), path.stem, path.read_bytes()
        except OSError as exc:
            skipped.append(OsvSkip(str(path), "(file)", f"cannot read: {exc.strerror or exc}"))


def _zip_members(source: Path, skipped: List[OsvSkip]) -> Iterator[Tuple[str, str, bytes]]:
    """Yield the ``*.json`` members of an OSV zip export (``all.zip``), bounded."""
    total = 0
    try:
        with zipfile.ZipFile(source) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                label = f"{source}!{info.filename}"
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > ZIP_MEMBER_LIMIT or total + info.file_size > ZIP_TOTAL_LIMIT:
                    skipped.append(OsvSkip(label, "(file)", "too large to read"))
                    continue
                total += info.file_size
                with archive.open(info) as member:
                    data = member.read(ZIP_MEMBER_LIMIT + 1)
                stem = info.filename.rsplit("/", 1)[-1][: -len(".json")]
                yield label, stem, data
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise OsvImportError(f"{source}: not a readable zip export: {exc}") from exc


ZIP_MEMBER_LIMIT = 16 << 20
"""Largest record read from a zip export (OSV records are a few KiB)."""
ZIP_TOTAL_LIMIT = 4 << 30
"""Most bytes read from one zip export (the PyPI all.zip is well under 1 GiB unpacked)."""


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


def _documents(data: Optional[bytes], out: _Skips) -> List[Tuple[str, Json]]:
    """Return the record objects in one file: one object, or a JSON array of them."""
    if data is None:
        return []
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
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


def _record(doc: Json, where: str, out: _Skips, stem: str = "") -> Optional[OsvRecord]:
    """Return the record's PyPI part, or ``None`` (with the reason recorded).

    A staging record of ossf/malicious-packages (``MAL-0000-*.json``) may have an empty ``id``:
    it is named by its first alias, else its file name, else its origin's id.
    """
    ident = _text(doc.get("id")) or _fallback_id(doc, stem)
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
    found = _Indicators()
    for table in specific:
        indicators = table.get("indicators") if isinstance(table, dict) else None
        if isinstance(indicators, dict):
            found.read(ident, indicators, out)
    domains = tuple(dict.fromkeys((*domains, *found.domains)))
    ips = tuple(dict.fromkeys((*ips, *found.ips)))
    urls = tuple(dict.fromkeys((*urls, *found.urls)))
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
        files=tuple(found.files),
        artifacts=tuple(found.artifacts),
        persistence=tuple(found.persistence),
        names=tuple(found.names),
        details=_one_line(_text(doc.get("details"))),
    )


def _fallback_id(doc: Json, stem: str) -> str:
    """A name for a record with an empty ``id`` (staging records of ossf/malicious-packages)."""
    aliases = _texts(doc.get("aliases"))
    if aliases:
        return aliases[0]
    if stem.upper().startswith("MAL-"):
        return stem
    specific = doc.get("database_specific")
    origins = (
        _objects(specific.get("malicious-packages-origins")) if isinstance(specific, dict) else []
    )
    return next((_text(o.get("id")) for o in origins if _text(o.get("id"))), "")


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_INDICATOR_KEYS = frozenset(
    {"domains", "ips", "urls", "evidence_files", "package_integrity", "second_stage"}
)


class _Indicators:
    """Amazon Inspector's ``indicators`` block, read in full; what cannot be kept is a skip."""

    def __init__(self) -> None:
        self.domains: Dict[str, None] = {}
        self.ips: Dict[str, None] = {}
        self.urls: Dict[str, None] = {}
        self.files: Dict[Tuple[str, str], None] = {}
        self.artifacts: Dict[Tuple[str, str], None] = {}
        self.persistence: Dict[str, None] = {}
        self.names: Dict[str, None] = {}

    def read(self, ident: str, block: Json, out: _Skips) -> None:
        for key in sorted(set(block) - _INDICATOR_KEYS):
            out.add(ident, f"indicators.{key}: an indicator kind a pack cannot hold (not imported)")
        for raw in _texts(block.get("domains")):
            _keep(_domain(raw), self.domains, ident, f"domain {raw!r}", out)
        for raw in _texts(block.get("ips")):
            _keep(_ip(raw), self.ips, ident, f"IP {raw!r}", out)
        for raw in _texts(block.get("urls")):
            _keep(_url(raw), self.urls, ident, f"URL {raw!r}", out)
        for item in _objects(block.get("evidence_files")):
            path, sha = _text(item.get("path")), _sha(item.get("sha256"), item.get("hashes"))
            if _site_path(path) and sha:
                self.files[(path, sha)] = None
            else:
                out.add(ident, f"evidence file {path!r} without a usable path and SHA-256")
        for item in _objects(block.get("package_integrity")):
            name, sha = _text(item.get("filename")), _sha(item.get("sha256"), item.get("hashes"))
            if name and "/" not in name and sha:
                self.artifacts[(name, sha)] = None
            else:
                out.add(ident, f"artifact {name!r} without a usable file name and SHA-256")
        for item in _objects(block.get("second_stage")):
            self._second_stage(ident, item, out)

    def _second_stage(self, ident: str, item: Json, out: _Skips) -> None:
        url = _url(_text(item.get("url")))
        sha = _sha(item.get("sha256"), item.get("hashes"))
        name = urlsplit(url).path.rsplit("/", 1)[-1] if url else ""
        if url:
            self.urls[url] = None
        if name and sha:
            self.artifacts[(name, sha)] = None
            self.names[name] = None
        elif not url:
            out.add(ident, "second stage without a URL")
        persistence = item.get("persistence")
        if isinstance(persistence, dict):
            for key, raw in sorted(persistence.items()):
                text = _text(raw)
                if text.startswith(("/", "~/")) and ".." not in text and "\\" not in text:
                    self.persistence[text] = None
                elif text and "/" not in text:
                    self.names[text] = None  # a unit or task name: matched by name anywhere
                else:
                    out.add(ident, f"second_stage.persistence.{key} {text!r} is not a host path")


def _sha(value: object, hashes: object) -> str:
    """Return a SHA-256 in lower case from ``sha256`` or ``hashes.sha256``, or ``""``."""
    text = _text(value) or (_text(hashes.get("sha256")) if isinstance(hashes, dict) else "")
    return text.lower() if _SHA256.fullmatch(text) else ""


def _site_path(path: str) -> bool:
    """Return whether ``path`` is relative to a site dir, as a pack's ``site_path`` must be."""
    return bool(path) and not path.startswith(("/", "~")) and ".." not in path.split("/")


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
