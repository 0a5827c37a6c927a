"""Run every check over an inventory and assemble the result. No I/O, no drawing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

from sitesweep.checks import CHECKS, Check, CheckContext
from sitesweep.content import ContentSource
from sitesweep.gapbound import bounded_gaps
from sitesweep.intel.model import IndexWitness
from sitesweep.inventory import Inventory, InventoryUnderway
from sitesweep.model import Finding, Gap, GapReason
from sitesweep.outcome import ScanResult
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits

log = logging.getLogger(__name__)

__all__ = ["ScanResult", "analyze"]


def analyze(
    inventory: Union[Inventory, InventoryUnderway],
    packs: PackSet,
    checks: Sequence[Type[Check]] = CHECKS,
    strict: bool = False,
    content: Optional[ContentSource] = None,
    yara_limits: Optional[YaraLimits] = None,
    index: Optional[IndexWitness] = None,
) -> ScanResult:
    """Run ``checks`` over ``inventory``; a failing check becomes a gap unless ``strict``.

    ``content`` serves file content to the checks that match bytes (YARA): the host for a scan,
    the bundle's evidence copies for ``analyze``; without it those checks record a gap.
    ``index`` is what a package index said about the installed releases (``analyze --index``).
    The gaps are bounded per (area, reason, distribution or directory) with their count
    (:mod:`sitesweep.gapbound`).

    An inventory still underway (collectors working apart): the checks that run without what
    they are still making (``Check.runs_without``) run first, the others once it is whole; the
    result is assembled in ``checks`` order either way.
    """
    limits = yara_limits or YaraLimits()
    done: Dict[Type[Check], _Ran] = {}
    if isinstance(inventory, InventoryUnderway):
        early = [c for c in checks if inventory.pending <= c.runs_without]
        ctx = CheckContext(inventory.now, packs, content, limits, index)
        for check_type in early:
            done[check_type] = _run_check(check_type, ctx, strict)
        inventory = inventory.finish()
    ctx = CheckContext(inventory, packs, content, limits, index)
    findings: List[Finding] = []
    gaps: List[Gap] = list(inventory.gaps)
    ran: List[str] = []
    for check_type in checks:
        outcome = done.get(check_type) or _run_check(check_type, ctx, strict)
        findings.extend(outcome.findings)
        gaps.extend(outcome.gaps)
        if outcome.ran:
            ran.append(check_type.id)
    unique = {f.id: f for f in findings}
    ordered = tuple(sorted(unique.values(), key=Finding.sort_key))
    return ScanResult(inventory, packs, ordered, bounded_gaps(gaps, inventory), tuple(ran))


@dataclass(frozen=True)
class _Ran:
    """What one check gave: its findings, its gaps, and whether it ran."""

    findings: Tuple[Finding, ...]
    gaps: Tuple[Gap, ...]
    ran: bool


def _run_check(check_type: Type[Check], ctx: CheckContext, strict: bool) -> _Ran:
    """Run one check; a skip or a failure becomes its gap (a failure raises when ``strict``)."""
    check = check_type()
    reason = check.skip_reason(ctx)
    if reason is not None:
        why = GapReason.LIVE_ONLY if check.live_only else GapReason.CHECK_SKIPPED
        return _Ran((), (Gap(check.id, None, why, reason),), False)
    findings: List[Finding] = []
    try:
        findings.extend(check.run(ctx))
    except Exception as exc:
        if strict:
            raise
        log.error("check %s failed: %s", check.id, exc)
        log.debug("check %s traceback", check.id, exc_info=True)
        gap = Gap(check.id, None, GapReason.CHECK_FAILED, f"{type(exc).__name__}: {exc}")
        return _Ran(tuple(findings), (gap,), False)  # what it found before failing is kept
    return _Ran(tuple(findings), tuple(check.gaps()), True)
