"""Judge a bundle matched on its host: take the host's findings, add what only this machine can do.

The fleet agent matches the packs on the target (``agent.pyz collect --match``): every check but
the ones that need compiled code (YARA) or this machine's network (the package index). A bundle
so matched carries the host's findings (``findings.json``) and coverage (``coverage.json``), and
:func:`judge` merges them instead of re-deriving them: it verifies the bundle against its
manifest, checks that the host matched with the very packs loaded here (same ids, versions and
digests of ``pack.toml`` and rules), runs only :data:`CONTROLLER_CHECKS` over the bundle's
evidence copies and merges the two. Anything else (a bundle of observations only, other packs, a
bundle that does not verify, malformed host findings) is analysed here in full, as ``analyze``
does, and the reason is said. The host's findings are no less trustworthy than its observations:
both come from the same agent on the same host, and re-deriving findings from observations a
subverted host could forge adds no assurance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Type

from sitesweep.bundle import layout
from sitesweep.bundle.documents import Coverage, FindingsDocument, load
from sitesweep.bundle.reader import read_json, rows_left_out
from sitesweep.bundle.verify import verify_directory
from sitesweep.checks import Check
from sitesweep.checks.index_witness import IndexWitnessCheck
from sitesweep.checks.yara import YaraRules
from sitesweep.content import ContentSource
from sitesweep.engine import analyze
from sitesweep.errors import BundleError
from sitesweep.intel.model import IndexWitness
from sitesweep.inventory import Inventory
from sitesweep.model import Finding, Gap
from sitesweep.outcome import ScanResult
from sitesweep.packs.model import PackSet

CONTROLLER_CHECKS: Tuple[Type[Check], ...] = (YaraRules, IndexWitnessCheck)
"""Checks the controller runs itself even on a bundle matched on its host: YARA (compiled code,
absent from the pure-Python agent) and the package-index witness (this machine's network)."""

MERGED = "merged: the host's findings, and the controller's YARA where the host had none"
"""How a bundle was judged when the host's findings were taken."""


@dataclass(frozen=True)
class Judged:
    """One bundle's result, and how it was reached (:data:`MERGED` or why it was re-analysed)."""

    result: ScanResult
    how: str

    @property
    def merged(self) -> bool:
        """Whether the host's findings were taken."""
        return self.how == MERGED


def _pack_ids(packs: PackSet) -> List[Tuple[str, str, str]]:
    return sorted((p.id, p.version, p.sha256) for p in packs.packs)


def _manifest_packs(manifest: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    listed = manifest.get("packs")
    if not isinstance(listed, list):
        return []
    return sorted(
        (str(p.get("id")), str(p.get("version")), str(p.get("sha256")))
        for p in listed
        if isinstance(p, dict)
    )


def why_not_merged(directory: Path, manifest: Dict[str, Any], packs: PackSet) -> Optional[str]:
    """Why the host's findings in ``directory`` cannot be taken as they are (``None``: they can).

    Raises:
        BundleError: the manifest lists no file hashes.
    """
    if manifest.get("mode") != "scan" or not (directory / layout.FINDINGS).is_file():
        return "observations only (not matched on the host)"
    if _manifest_packs(manifest) != _pack_ids(packs):
        return "the host matched with other packs than the controller's"
    check = verify_directory(directory)
    if not check.intact:
        bad = [*check.altered, *check.missing, *check.extra][:3]
        return f"the bundle does not verify against its manifest ({', '.join(bad)})"
    return None


def _bundle_gaps(manifest: Dict[str, Any]) -> Counter[Tuple[Optional[str], str, str]]:
    """The bundle writer's own gaps (``coverage.json`` lists them after the analysis's)."""
    found: Counter[Tuple[Optional[str], str, str]] = Counter()
    items = manifest.get("bundle_gaps")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            path = item.get("path")
            where = path if isinstance(path, str) else None
            found[(where, str(item.get("reason")), str(item.get("detail")))] += 1
    return found


def _host_result(
    directory: Path, manifest: Dict[str, Any]
) -> Tuple[Tuple[Finding, ...], Tuple[Gap, ...], Tuple[str, ...]]:
    """The host's findings, its analysis's gaps (the bundle writer's left out) and checks run.

    Raises:
        BundleError: ``findings.json`` or ``coverage.json`` is malformed.
    """
    findings = load(FindingsDocument, read_json(directory, layout.FINDINGS), layout.FINDINGS)
    coverage = load(Coverage, read_json(directory, layout.COVERAGE), layout.COVERAGE)
    writer = _bundle_gaps(manifest)
    gaps: List[Gap] = []
    for gap in coverage.gaps:
        key = (gap.path, gap.reason.value, gap.detail)
        if writer[key] > 0:
            writer[key] -= 1
            continue
        gaps.append(gap)
    return findings.findings, tuple(gaps), coverage.checks_run


def _merge(
    directory: Path,
    manifest: Dict[str, Any],
    inventory: Inventory,
    packs: PackSet,
    content: Optional[ContentSource],
    index: Optional[IndexWitness],
) -> ScanResult:
    """The host's findings plus the controller's own checks (those the host did not run).

    Raises:
        BundleError: the host's findings or coverage are malformed.
    """
    host_findings, host_gaps, host_ran = _host_result(directory, manifest)
    todo = tuple(
        c
        for c in CONTROLLER_CHECKS
        if (c is IndexWitnessCheck and index is not None)
        or (c is not IndexWitnessCheck and c.id not in host_ran)
    )
    redo = {c.id for c in todo}
    # The host's gaps hold the inventory's already (bounded there): the checks run here on the
    # inventory without them, and add theirs (replacing what the host said of those checks:
    # "yara-python unavailable" and the like), and what the bundle left out of its RECORD rows.
    own = analyze(replace(inventory, gaps=()), packs, checks=todo, content=content, index=index)
    own_gaps = (*rows_left_out(inventory), *own.gaps)
    kept_gaps = tuple(g for g in host_gaps if g.area not in redo)
    unique = {f.id: f for f in (*host_findings, *own.findings)}
    ran = tuple(c for c in host_ran if c not in redo) + own.checks_run
    return ScanResult(
        inventory,
        packs,
        tuple(sorted(unique.values(), key=Finding.sort_key)),
        (*kept_gaps, *own_gaps),
        ran,
    )


def judge(
    directory: Path,
    manifest: Dict[str, Any],
    inventory: Inventory,
    packs: PackSet,
    content: Optional[ContentSource],
    index: Optional[IndexWitness] = None,
) -> Judged:
    """Merge the host's findings with the controller's checks, or analyse here in full.

    Raises:
        BundleError: the manifest is malformed.
    """
    why = why_not_merged(directory, manifest, packs)
    if why is None:
        try:
            return Judged(_merge(directory, manifest, inventory, packs, content, index), MERGED)
        except BundleError as exc:
            why = f"the host's findings are unreadable ({exc})"
    result = analyze(inventory, packs, content=content, index=index)
    return Judged(result, f"analysed on the controller: {why}")
