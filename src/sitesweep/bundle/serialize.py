"""Model to JSON: the only place that knows the wire shape of bundle files."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import replace
from enum import Enum
from typing import AbstractSet, Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from sitesweep import timefmt
from sitesweep.bundle import jsontext, layout
from sitesweep.candidates import row_path
from sitesweep.discovery.model import PythonEnv
from sitesweep.gapbound import owners_of
from sitesweep.inventory import Inventory
from sitesweep.metadata.integrity import MAX_MISSING_LISTED, RecordVerification
from sitesweep.metadata.model import Distribution, RecordEntry
from sitesweep.model import Finding, Gap, Severity
from sitesweep.osprofile.model import OsInfo
from sitesweep.osprofile.paths import display_path
from sitesweep.outcome import ScanResult, outcome_of

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> Any:
    if type(value) in _SCALARS:  # the common case first: a million-row RECORD is 3M scalars
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def dumps(value: object) -> str:
    """Serialise deterministically: sorted keys, ASCII only (non-UTF-8 names survive escaped).

    The text is ``json.dumps(_plain(value), sort_keys=True, indent=2, ensure_ascii=True)`` plus a
    newline, written by :mod:`sitesweep.bundle.jsontext` (same bytes, a fraction of the cost).
    """
    return jsontext.dumps(value)


def utc_iso(epoch: Optional[float]) -> Optional[str]:
    """Format epoch seconds as an ISO 8601 UTC string."""
    if epoch is None:
        return None
    return timefmt.iso_utc(epoch)


def finding_dict(finding: Finding) -> Dict[str, Any]:
    """A finding as written to findings.json."""
    data: Dict[str, Any] = _plain(finding)
    return data


def environment_dict(env: PythonEnv) -> Dict[str, Any]:
    """An environment as written to environments.json."""
    data: Dict[str, Any] = _plain(env)
    return data


def gap_dict(gap: Gap) -> Dict[str, Any]:
    """A coverage gap as written to coverage.json."""
    data: Dict[str, Any] = _plain(gap)
    return data


MAX_ABSENT_ROWS = MAX_MISSING_LISTED
"""RECORD rows of files the scan found absent kept per distribution (those of the first paths);
the rest are left out of a bundle and counted: ``record_rows`` minus the rows kept."""


def _absent_by_dist(inv: Inventory, absent: AbstractSet[str]) -> Dict[str, Set[str]]:
    """Distribution path -> the host paths its RECORD lists that the scan found absent: those
    RECORD verification found missing, and ``absent`` (paths the bundle writer found absent),
    each given to the distribution whose RECORD lists it (:class:`sitesweep.gapbound.Owners`)."""
    found: Dict[str, Set[str]] = {}
    for check in inv.record_checks:
        if check.missing:
            found.setdefault(check.distribution, set()).update(check.missing)
    if absent:
        owners = owners_of(inv)
        for path in absent:
            owner = owners.of(path)
            if owner is not None:
                found.setdefault(owner.path, set()).add(path)
    return found


def _seen_rows(dist: Distribution, absent: Set[str]) -> Tuple[RecordEntry, ...]:
    """``dist.record`` without the rows of files the scan found absent (``absent``), but those
    of the first :data:`MAX_ABSENT_ROWS` such paths: every row of a file that was seen (or not
    looked at) is kept, so ``analyze`` with later packs still matches its hash and name."""
    if len(absent) <= MAX_ABSENT_ROWS:
        return dist.record
    shown = set(sorted(absent)[:MAX_ABSENT_ROWS])
    head = dist.site_dir.rstrip("/") + "/"
    rows: List[RecordEntry] = []
    for entry in dist.record:
        rel = entry.path
        if rel and not rel.startswith("/"):
            path = row_path(head, rel)
            if path in absent and path not in shown:
                continue
        rows.append(entry)
    return tuple(rows)


def _missing_cut(check: RecordVerification) -> Dict[str, Any]:
    """The fields of a RECORD verification a bundle writes otherwise: its first
    :data:`MAX_MISSING_LISTED` missing paths, the rest counted (``missing_more``)."""
    if len(check.missing) <= MAX_MISSING_LISTED:
        return {}
    return {
        "missing": check.missing[:MAX_MISSING_LISTED],
        "missing_more": check.missing_more + len(check.missing) - MAX_MISSING_LISTED,
    }


def inventory_doc(result: ScanResult, absent: AbstractSet[str] = frozenset()) -> Dict[str, Any]:
    """The inventory file: every observation, complete, so ``analyze`` can rebuild it.

    The scan root is left out: it is recorded once, in the manifest (paths here are host paths).
    RECORD rows are kept for the distributions the packs target (``record_targets``); for the
    others ``record_rows`` says how many there were: every row of every distribution on a host
    would make bundles grow with every file installed anywhere. Of the rows of files the scan
    found absent (RECORD verification's ``missing``, and ``absent``: those the bundle writer
    found absent) the first :data:`MAX_ABSENT_ROWS` are kept, and the missing paths of a RECORD
    verification are its first :data:`MAX_MISSING_LISTED` and a count (a forged RECORD of
    600,000 absent files made a 346 MB inventory).
    """
    inv = result.inventory
    targets = set(inv.record_targets)
    gone = _absent_by_dist(inv, absent)
    dists = tuple(
        d
        if d.name in targets and d.path not in gone
        else replace(d, record=_seen_rows(d, gone[d.path]) if d.name in targets else ())
        for d in inv.distributions
    )
    checks = tuple(replace(c, **_missing_cut(c)) for c in inv.record_checks)
    data: Dict[str, Any] = _plain(replace(inv, distributions=dists, record_checks=checks))
    data.pop("root")
    return data


def inventory_chunks(result: ScanResult, absent: AbstractSet[str] = frozenset()) -> Iterator[str]:
    """``dumps(inventory_doc(result, absent))`` in pieces, one per distribution: never held
    whole.

    Identical RECORDs share one tuple of rows (the same release in many environments): the
    text of those rows is written once and reused for every install that lists them.
    """
    inv = result.inventory
    targets = set(inv.record_targets)
    gone = _absent_by_dist(inv, absent)
    left = Counter(
        id(d.record)
        for d in inv.distributions
        if d.name in targets and d.record and d.path not in gone
    )
    texts: Dict[int, Dict[str, str]] = {}  # RECORD tuple -> its text by indentation

    def listed(dist: Distribution) -> object:
        if dist.name not in targets:
            return jsontext.Replaced(dist, record=())
        if dist.path in gone:  # rows of absent files left out: rows of its own
            return jsontext.Replaced(dist, record=_seen_rows(dist, gone[dist.path]))
        if not dist.record:
            return dist
        key = id(dist.record)
        left[key] -= 1
        if left[key] == 0 and key not in texts:
            return dist  # listed once: nothing to share, its text is not kept
        # kept until the last install listing the same rows is written, then let go
        shared = texts.setdefault(key, {}) if left[key] else texts.pop(key)
        return jsontext.Replaced(dist, record=jsontext.Shared(dist.record, shared))

    doc: Dict[str, Any] = {f.name: getattr(inv, f.name) for f in dataclasses.fields(inv)}
    doc.pop("root")
    doc["distributions"] = jsontext.JsonArray(listed(d) for d in inv.distributions)
    doc["record_checks"] = [
        jsontext.Replaced(c, **cut) if (cut := _missing_cut(c)) else c for c in inv.record_checks
    ]
    yield from jsontext.chunks(doc)
    yield "\n"


def coverage_doc(result: ScanResult, extra_gaps: Sequence[Gap] = ()) -> Dict[str, Any]:
    """The coverage file: how much was looked at, and every gap (the bundle's own included)."""
    inv = result.inventory
    return {
        "live": inv.live,
        "dirs_walked": inv.dirs_walked,
        "files_seen": inv.files_seen,
        "environments": len(inv.environments),
        "site_dirs": sum(len(e.site_dirs) for e in inv.environments),
        "distributions": len(inv.distributions),
        "checks_run": list(result.checks_run),
        "gaps": [gap_dict(g) for g in (*result.gaps, *extra_gaps)],
    }


def host_doc(result: ScanResult) -> Dict[str, Any]:
    """Who the result is about (the same fields as the manifest's ``host``)."""
    ident = result.inventory.identity
    return {
        "hostname": ident.hostname,
        "machine_id": ident.machine_id,
        "os_release": ident.os_release,
        "live": result.inventory.live,
    }


def findings_doc(result: ScanResult, threshold: Severity = Severity.HIGH) -> Dict[str, Any]:
    """The findings file: the outcome (verdict, counts, rotation list), then every finding.

    The outcome is :func:`sitesweep.outcome.outcome_of`'s, the one every other output tells.
    """
    return {
        "schema_version": layout.SCHEMA_VERSION,
        "host": host_doc(result),
        "outcome": outcome_of(result, threshold).doc(),
        "findings": [_shown(finding_dict(f), result.inventory.os) for f in result.findings],
    }


def _shown(doc: Dict[str, Any], os_info: OsInfo) -> Dict[str, Any]:
    """A finding's paths written as the scanned host writes them (``C:\\...`` on Windows)."""
    doc["paths"] = [display_path(p, os_info) for p in doc["paths"]]
    if doc.get("environment"):
        doc["environment"] = display_path(doc["environment"], os_info)
    return doc
