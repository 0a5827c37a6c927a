"""Run every check over an inventory and assemble the result. No I/O, no drawing."""

from __future__ import annotations

import logging
from typing import List, Optional, Sequence, Type

from sitesweep.checks import CHECKS, Check, CheckContext
from sitesweep.content import ContentSource
from sitesweep.gapbound import bounded_gaps
from sitesweep.intel.model import IndexWitness
from sitesweep.inventory import Inventory
from sitesweep.model import Finding, Gap, GapReason
from sitesweep.outcome import ScanResult
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits

log = logging.getLogger(__name__)

__all__ = ["ScanResult", "analyze"]


def analyze(
    inventory: Inventory,
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
    """
    ctx = CheckContext(inventory, packs, content, yara_limits or YaraLimits(), index)
    findings: List[Finding] = []
    gaps: List[Gap] = list(inventory.gaps)
    ran: List[str] = []
    for check_type in checks:
        check = check_type()
        reason = check.skip_reason(ctx)
        if reason is not None:
            why = GapReason.LIVE_ONLY if check.live_only else GapReason.CHECK_SKIPPED
            gaps.append(Gap(check.id, None, why, reason))
            continue
        try:
            findings.extend(check.run(ctx))
        except Exception as exc:
            if strict:
                raise
            log.error("check %s failed: %s", check.id, exc)
            log.debug("check %s traceback", check.id, exc_info=True)
            gaps.append(Gap(check.id, None, GapReason.CHECK_FAILED, f"{type(exc).__name__}: {exc}"))
            continue
        gaps.extend(check.gaps())
        ran.append(check.id)
    unique = {f.id: f for f in findings}
    ordered = tuple(sorted(unique.values(), key=Finding.sort_key))
    return ScanResult(inventory, packs, ordered, bounded_gaps(gaps, inventory), tuple(ran))
