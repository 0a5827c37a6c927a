"""One fleet summary from any set of bundles: per host its verdict, what to rotate, what was missed.

Bundles come from ``sweep``, from the Ansible playbook, or copied by hand (``.tar.gz`` or
unpacked). Each is analysed with the current packs. A ``sweep.json`` found beside them adds the
hosts that could not be checked (unreachable, auth failure, ...) and each host's sweep status.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sitesweep.bundle import layout
from sitesweep.bundle.reader import read_manifest
from sitesweep.engine import ScanResult
from sitesweep.errors import BundleError
from sitesweep.fleet.sweep import SWEEP_FILE
from sitesweep.model import Category, Severity
from sitesweep.packs import load_packs
from sitesweep.pipeline import run_analyze

COMPROMISED = "compromised"
REVIEW = "review"
CLEAN = "clean"
UNCHECKED = "unchecked"
UNREADABLE = "unreadable"
_MANIFEST_LIMIT = 16 << 20


@dataclass(frozen=True)
class HostRow:
    """One host of the fleet report.

    Attributes:
        name: the sweep's name for the host, else the bundle's hostname.
        hostname: what the host calls itself (from the bundle; empty without one).
        verdict: ``compromised`` (findings at/above the threshold), ``review`` (lesser findings),
            ``clean``, ``unchecked`` (no bundle: see status) or ``unreadable`` (bad bundle).
        status: the sweep status (``ok``, ``unreachable``...) or ``bundle`` for a bundle alone.
        detail: the sweep's or the bundle reader's message.
        worst: most severe finding.
        findings: number of findings.
        environments: environments with findings at/above the threshold.
        rotate: credential-exposure findings (what to rotate).
        gaps: coverage gaps of the analysis.
        reduced: checks that ran in reduced form on the host.
        bundle: the bundle's path.
    """

    name: str
    hostname: str
    verdict: str
    status: str
    detail: str = ""
    worst: str = ""
    findings: int = 0
    environments: Tuple[str, ...] = ()
    rotate: Tuple[str, ...] = ()
    gaps: int = 0
    reduced: Tuple[str, ...] = ()
    bundle: Optional[str] = None


@dataclass(frozen=True)
class FleetSummary:
    """Every host's row, and the threshold that makes a host compromised."""

    rows: Tuple[HostRow, ...]
    threshold: Severity

    def compromised(self) -> Tuple[HostRow, ...]:
        """Hosts with indicators at or above the threshold."""
        return tuple(r for r in self.rows if r.verdict == COMPROMISED)

    def counts(self) -> Dict[str, int]:
        """Hosts per verdict."""
        counts: Dict[str, int] = {}
        for row in self.rows:
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
        return dict(sorted(counts.items()))


def _is_bundle_dir(path: Path) -> bool:
    return (path / layout.INVENTORY).is_file() and (path / layout.MANIFEST).is_file()


def find_inputs(paths: Iterable[Path]) -> Tuple[List[Path], List[Path]]:
    """Split the arguments into bundles and ``sweep.json`` files (directories are searched)."""
    bundles: List[Path] = []
    sweeps: List[Path] = []
    for path in paths:
        if path.is_file():
            (sweeps if path.name == SWEEP_FILE else bundles).append(path)
        elif _is_bundle_dir(path):
            bundles.append(path)
        elif path.is_dir():
            sweeps.extend(sorted(path.rglob(SWEEP_FILE)))
            archives = sorted(path.rglob("sitesweep-*.tar.gz"))
            bundles.extend(archives)
            packed = {a.name[: -len(".tar.gz")] for a in archives}
            dirs = sorted(p.parent for p in path.rglob(layout.INVENTORY))
            bundles.extend(d for d in dirs if d.name not in packed and _is_bundle_dir(d))
    unique = list(dict.fromkeys(p.resolve() for p in bundles))
    return unique, list(dict.fromkeys(p.resolve() for p in sweeps))


def _archive_manifest(archive: Path) -> Dict[str, Any]:
    """Read only the manifest member of a bundle archive (bounded), for the host's name."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == layout.MANIFEST and member.isreg():
                    if member.size > _MANIFEST_LIMIT:
                        break
                    source = tar.extractfile(member)
                    data = json.loads(source.read()) if source is not None else None
                    return data if isinstance(data, dict) else {}
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise BundleError(f"{archive}: {exc}") from exc
    raise BundleError(f"{archive}: no readable manifest")


def _manifest(bundle: Path) -> Dict[str, Any]:
    return read_manifest(bundle) if bundle.is_dir() else _archive_manifest(bundle)


def _reduced(manifest: Dict[str, Any]) -> Tuple[str, ...]:
    items = manifest.get("reduced_checks")
    if not isinstance(items, list):
        return ()
    return tuple(f"{i.get('area')}: {i.get('detail')}" for i in items if isinstance(i, dict))


def _row(name: str, status: str, detail: str, result: ScanResult, threshold: Severity) -> HostRow:
    serious = result.at_least(threshold)
    if serious:
        verdict = COMPROMISED
    elif result.at_least(Severity.LOW):
        verdict = REVIEW
    else:
        verdict = CLEAN
    rotate = tuple(
        f"{f.title}" + (f" ({', '.join(f.paths)})" if f.paths else "")
        for f in result.findings
        if f.category == Category.CREDENTIAL_EXPOSURE
    )
    return HostRow(
        name=name,
        hostname=result.inventory.identity.hostname or "",
        verdict=verdict,
        status=status,
        detail=detail,
        worst=result.worst().value if result.findings else "",
        findings=len(result.findings),
        environments=tuple(sorted({f.environment for f in serious if f.environment})),
        rotate=tuple(dict.fromkeys(rotate)),
        gaps=len(result.gaps),
    )


def _sweep_entries(sweeps: Sequence[Path]) -> List[Tuple[Dict[str, Any], Optional[Path]]]:
    """Every host entry of every ``sweep.json``, with its bundle's resolved path."""
    entries: List[Tuple[Dict[str, Any], Optional[Path]]] = []
    for path in sweeps:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: {exc}") from exc
        hosts = doc.get("hosts") if isinstance(doc, dict) else None
        for entry in hosts if isinstance(hosts, list) else ():
            if isinstance(entry, dict):
                bundle = entry.get("bundle")
                where = (path.parent / bundle).resolve() if isinstance(bundle, str) else None
                entries.append((entry, where))
    return entries


def summarize(
    paths: Sequence[Path],
    signatures: Tuple[Path, ...] = (),
    threshold: Severity = Severity.HIGH,
) -> FleetSummary:
    """Analyse every bundle found under ``paths`` and merge in the sweep statuses.

    Raises:
        PackError: a signature pack is invalid.
        BundleError: a ``sweep.json`` is unreadable.
    """
    bundles, sweeps = find_inputs(paths)
    packs = load_packs(signatures)  # once: compiling the YARA rules per bundle adds up
    entries = _sweep_entries(sweeps)
    by_bundle = {where: entry for entry, where in entries if where is not None}
    rows: List[HostRow] = []
    for bundle in bundles:
        entry = by_bundle.get(bundle, {})
        name = str(entry.get("host", ""))
        status = str(entry.get("status", "bundle"))
        try:
            manifest = _manifest(bundle)
            result = run_analyze(bundle, packs=packs).result
        except BundleError as exc:
            rows.append(
                HostRow(name or bundle.name, "", UNREADABLE, status, str(exc), bundle=str(bundle))
            )
            continue
        row = _row(
            name or result.inventory.identity.hostname or bundle.name,
            status,
            str(entry.get("detail", "")),
            result,
            threshold,
        )
        rows.append(replace(row, reduced=_reduced(manifest), bundle=str(bundle)))
    for entry, where in entries:
        if where is None or where not in bundles:
            rows.append(
                HostRow(
                    str(entry.get("host", "?")),
                    "",
                    UNCHECKED,
                    str(entry.get("status", "?")),
                    str(entry.get("detail", "")),
                )
            )
    return FleetSummary(tuple(sorted(rows, key=_order)), threshold)


_VERDICT_ORDER = {COMPROMISED: 0, UNREADABLE: 1, UNCHECKED: 2, REVIEW: 3, CLEAN: 4}


def _order(row: HostRow) -> Tuple[int, str]:
    return (_VERDICT_ORDER.get(row.verdict, 9), row.name)


def fleet_doc(summary: FleetSummary) -> Dict[str, Any]:
    """The summary as plain data (``fleet.json``)."""
    return {
        "threshold": summary.threshold.value,
        "counts": summary.counts(),
        "hosts": [asdict(row) for row in summary.rows],
    }
