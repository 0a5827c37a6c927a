"""Every collector, registered explicitly and in order, and the one loop that runs them.

Order matters only through ``needs``: a collector reads what collectors before it observed (the
conformance test checks that every need is observed earlier). Adding an area of observation, or an
OS to one, means adding a :class:`~sitesweep.collectors.base.Collector` here; nothing else.
"""

from __future__ import annotations

from functools import partial
from typing import Dict, FrozenSet, List, Set, Tuple

from sitesweep.collectors.accounts import AccountsCollector, IdentityCollector
from sitesweep.collectors.base import (
    CollectContext,
    Collected,
    Collector,
    Observed,
    failure_gap,
    guarded,
)
from sitesweep.collectors.devtools import DevToolsCollector
from sitesweep.collectors.environments import (
    CachesCollector,
    LockfilesCollector,
    NamedFilesCollector,
    RecordCollector,
    SiteDirsCollector,
    WalkCollector,
)
from sitesweep.collectors.hoststate import (
    ClusterCollector,
    CredentialsCollector,
    HistoryCollector,
    PersistenceCollector,
    ProcessesCollector,
)
from sitesweep.collectors.importtime import ImportTimeCollector
from sitesweep.collectors.staging import StagingCollector
from sitesweep.model import Gap, GapReason
from sitesweep.osprofile.model import OsFamily

COLLECTORS: Tuple[Collector, ...] = (
    IdentityCollector(),
    AccountsCollector(),
    WalkCollector(),
    SiteDirsCollector(),
    NamedFilesCollector(),
    ImportTimeCollector(),
    StagingCollector(),
    DevToolsCollector(),
    ProcessesCollector(),
    PersistenceCollector(),
    CredentialsCollector(),
    RecordCollector(),
    CachesCollector(),
    LockfilesCollector(),
    HistoryCollector(),
    ClusterCollector(),
)
"""Every collector, in the order the loop runs them."""


def runs_on(collector: Collector, os: OsFamily) -> bool:
    """Whether ``collector`` runs on a host of ``os`` (an unknown OS gets every collector)."""
    return os is OsFamily.UNKNOWN or os in collector.oses


def run_collectors(
    ctx: CollectContext, collectors: Tuple[Collector, ...] = COLLECTORS
) -> Tuple[Observed, Tuple[Gap, ...]]:
    """Run every collector serving the host's OS, each under the guard; return what they saw.

    A collector that raises leaves its observations empty and a ``collector_failed`` gap; one
    that returns an observation it did not declare is a failure too (its values are dropped).
    An area no collector serves on this OS is a ``not_collected`` gap.
    """
    gaps: List[Gap] = []
    served: Set[str] = set()
    skipped: Dict[str, List[str]] = {}
    for collector in collectors:
        if not runs_on(collector, ctx.os):
            for name in collector.observes:
                skipped.setdefault(name, []).append(collector.id)
            continue
        served.update(collector.observes)
        if collector.stage:
            ctx.progress.stage(collector.stage)
        result = guarded(collector.id, None, gaps, partial(collector.collect, ctx), Collected())
        extra = sorted(set(result.values) - set(collector.observes))
        if extra:
            why = RuntimeError(f"returned undeclared observations {', '.join(extra)}")
            gaps.append(failure_gap(collector.id, None, why))
            continue
        for name, value in result.values.items():
            ctx.observed.add(name, value)
        gaps.extend(result.gaps)
    for name, ids in sorted(skipped.items()):
        if name not in served:
            for cid in ids:
                detail = f"{cid}: not collected on {ctx.os} (no collector for {name} on this OS)"
                gaps.append(Gap(cid, None, GapReason.NOT_COLLECTED, detail))
    return ctx.observed, tuple(gaps)


def observed_names() -> FrozenSet[str]:
    """Every observation some registered collector fills in."""
    return frozenset(name for c in COLLECTORS for name in c.observes)
