"""Parsers of the tables of ``pack.toml``: window, affected, files, artifacts, network, ...

Each parser reads one top-level key of the decoded document into its :mod:`sitesweep.packs.model`
value, recording every problem in the :class:`~sitesweep.packs.fields.Problems` collector. An entry
of an array of tables that has problems is left out; the caller refuses the whole pack then.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Dict, Optional, Tuple

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from sitesweep.errors import PackProblem
from sitesweep.packs import fields, values
from sitesweep.packs.fields import Convert, Problems, Table
from sitesweep.packs.model import (
    AffectedRelease,
    ArtifactHash,
    FileIndicator,
    NetworkIndicators,
    PersistenceIndicator,
)
from sitesweep.packs.yararules import rule_file_problems

_WINDOW_KEYS = frozenset({"start", "end"})
_AFFECTED_KEYS = frozenset({"name", "specifiers", "severity", "note"})
_FILE_KEYS = frozenset(
    {"id", "name", "site_path", "sha256", "severity", "description", "name_is_indicator"}
)
_ARTIFACT_KEYS = frozenset({"sha256", "filename", "description"})
_NETWORK_KEYS = frozenset({"domains", "ips", "urls"})
_PERSISTENCE_KEYS = frozenset({"id", "path", "description", "severity"})
_REMEDIATION_KEYS = frozenset({"text", "playbook"})

_DIST_NAME_RE = re.compile(r"[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9]", re.IGNORECASE)


# --- plain tables and lists ----------------------------------------------------------------------


def references(doc: Table, out: Problems) -> Tuple[str, ...]:
    """Return the optional ``references`` (http or https URLs)."""
    return fields.converted(doc, "references", "", out, values.as_reference)


def advisories(doc: Table, out: Problems) -> Tuple[str, ...]:
    """Return the optional ``advisories`` (advisory ids: MAL-, GHSA-, CVE-, PYSEC- ...)."""
    return fields.converted(doc, "advisories", "", out, values.as_advisory)


def window(doc: Table, out: Problems) -> Tuple[Optional[datetime], Optional[datetime]]:
    """Return the incident window (UTC); both ends are required when ``[window]`` is present."""
    table = fields.table(doc, "window", "", out, _WINDOW_KEYS, required=False)
    if table is None:
        return None, None
    start = fields.timestamp(table, "start", "window", out)
    end = fields.timestamp(table, "end", "window", out)
    if start is not None and end is not None and start > end:
        out.add("window", f"start {start.isoformat()} is after end {end.isoformat()}")
    return start, end


def network(doc: Table, out: Problems) -> NetworkIndicators:
    """Return the ``[network]`` indicators (all lists optional)."""
    table = fields.table(doc, "network", "", out, _NETWORK_KEYS, required=False)
    if table is None:
        return NetworkIndicators()
    return NetworkIndicators(
        domains=fields.converted(table, "domains", "network", out, values.as_domain),
        ips=fields.converted(table, "ips", "network", out, values.as_ip),
        urls=fields.converted(table, "urls", "network", out, values.as_url),
    )


def credentials(doc: Table, out: Problems) -> Tuple[str, ...]:
    """Return the optional ``credentials`` (paths and names, as written)."""
    return fields.converted(doc, "credentials", "", out, values.as_text)


def remediation(doc: Table, out: Problems) -> Tuple[str, Optional[str]]:
    """Return the remediation text and the optional playbook path."""
    table = fields.table(doc, "remediation", "", out, _REMEDIATION_KEYS, required=True)
    if table is None:
        return "", None
    text = fields.string(table, "text", "remediation", out)
    playbook = fields.optional(table, "playbook", "remediation", out, values.as_relative_path)
    return text or "", playbook


def yara(doc: Table, directory: Path, out: Problems) -> Tuple[str, ...]:
    """Return the optional ``yara`` rule files: paths relative to the pack ``directory``."""
    return fields.converted(doc, "yara", "", out, _yara_converter(directory))


def _yara_converter(directory: Path) -> Convert:
    """Return a converter that accepts YARA files existing inside ``directory``."""

    def convert(text: str, name: str, out: Problems) -> Optional[str]:
        relative = values.as_relative_path(text, name, out)
        if relative is None:
            return None
        problem = _pack_file_problem(directory, relative)
        if problem is not None:
            values.refuse(text, problem, name, out)
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


# --- arrays of tables ----------------------------------------------------------------------------


def affected(doc: Table, out: Problems) -> Tuple[AffectedRelease, ...]:
    """Return the ``[[affected]]`` releases (at least one is required)."""
    return fields.table_array(doc, "affected", out, _AFFECTED_KEYS, _affected_entry, required=True)


def _affected_entry(table: Table, where: str, out: Problems) -> Optional[AffectedRelease]:
    """Return one affected release, or ``None`` when it has problems."""
    name = _distribution_name(table, where, out)
    specifiers = _specifiers(table, where, out)
    severity = fields.severity(table, where, out)
    note = fields.string(table, "note", where, out)
    if name is None or not specifiers or severity is None or note is None:
        return None
    return AffectedRelease(name=name, specifiers=specifiers, severity=severity, note=note)


def _distribution_name(table: Table, where: str, out: Problems) -> Optional[NormalizedName]:
    """Return a distribution name in canonical (PEP 503) form."""
    text = fields.string(table, "name", where, out)
    if text is None:
        return None
    if not _DIST_NAME_RE.fullmatch(text):
        values.refuse(text, "is not a valid distribution name", fields.join(where, "name"), out)
        return None
    return canonicalize_name(text)


def _specifiers(table: Table, where: str, out: Problems) -> Tuple[SpecifierSet, ...]:
    """Return the PEP 440 specifier sets; a version matching any one of them is affected."""
    items = fields.strings(table, "specifiers", where, out, required=True)
    return fields.present(values.as_specifier(text, name, out) for name, text in items)


def files(doc: Table, out: Problems) -> Tuple[FileIndicator, ...]:
    """Return the ``[[files]]`` indicators."""
    return fields.table_array(doc, "files", out, _FILE_KEYS, _file_entry, required=False)


def _file_entry(table: Table, where: str, out: Problems) -> Optional[FileIndicator]:
    """Return one file indicator, or ``None`` when it has problems."""
    ident = fields.ident(table, "id", where, out)
    name = fields.optional(table, "name", where, out, values.as_base_name)
    site_path = fields.optional(table, "site_path", where, out, values.as_relative_path)
    hashes = fields.converted(table, "sha256", where, out, values.as_sha256)
    severity = fields.severity(table, where, out)
    description = fields.string(table, "description", where, out)
    by_name = fields.boolean(table, "name_is_indicator", where, out, default=False)
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


def _check_file_can_match(table: Table, where: str, out: Problems, by_name: bool) -> None:
    """Refuse a file indicator that names no file or that nothing could ever match."""
    if "name" not in table and "site_path" not in table:
        out.add(where, "a file indicator needs name, site_path or both")
    elif by_name and "name" not in table:
        out.add(fields.join(where, "name_is_indicator"), "is true but the indicator has no name")
    if not by_name and not table.get("sha256"):
        out.add(where, "can never match: give sha256 values or set name_is_indicator = true")


def artifacts(doc: Table, out: Problems) -> Tuple[ArtifactHash, ...]:
    """Return the ``[[artifacts]]`` hashes."""
    return fields.table_array(
        doc, "artifacts", out, _ARTIFACT_KEYS, _artifact_entry, required=False
    )


def _artifact_entry(table: Table, where: str, out: Problems) -> Optional[ArtifactHash]:
    """Return one artifact hash, or ``None`` when it has problems."""
    sha256 = fields.required(table, "sha256", where, out, values.as_sha256)
    filename = fields.required(table, "filename", where, out, values.as_base_name)
    description = fields.string(table, "description", where, out)
    if sha256 is None or filename is None or description is None:
        return None
    return ArtifactHash(sha256=sha256, filename=filename, description=description)


def persistence(doc: Table, out: Problems) -> Tuple[PersistenceIndicator, ...]:
    """Return the ``[[persistence]]`` indicators."""
    return fields.table_array(
        doc, "persistence", out, _PERSISTENCE_KEYS, _persistence_entry, required=False
    )


def _persistence_entry(table: Table, where: str, out: Problems) -> Optional[PersistenceIndicator]:
    """Return one persistence indicator, or ``None`` when it has problems."""
    ident = fields.ident(table, "id", where, out)
    path = fields.required(table, "path", where, out, values.as_host_path)
    description = fields.string(table, "description", where, out)
    severity = fields.severity(table, where, out)
    if ident is None or path is None or description is None or severity is None:
        return None
    return PersistenceIndicator(id=ident, path=path, description=description, severity=severity)


def check_unique(
    doc: Table, sections: Tuple[str, ...], key: str, label: str, out: Problems
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
                out.add(where, f"duplicate {label} {fields.quote(value)} (first used at {first})")
