"""Every collector, registered explicitly and in order, and the one loop that runs them.

Order matters only through ``needs``: a collector reads what collectors before it observed (the
conformance test checks that every need is observed earlier). Adding an area of observation, or an
OS to one, means adding a :class:`~sitesweep.collectors.base.Collector` here; nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Callable, Dict, FrozenSet, List, Set, Tuple

from sitesweep.apart import Apart, can_fork, start
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
from sitesweep.progress import NullProgress

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


class Collection:
    """The collectors' run: what they observed so far, the gaps met, and those still working apart.

    A collector declared ``apart`` runs in a forked worker where :func:`sitesweep.apart.can_fork`
    allows; the loop goes on with the next collectors and waits for it only before one that needs
    what it observes, or in :meth:`finish`. Elsewhere it runs in the loop like any other.
    """

    def __init__(self, ctx: CollectContext) -> None:
        self.ctx = ctx
        self.gaps: List[Gap] = []
        self._apart: List[Tuple[Collector, Apart[Collected]]] = []

    @property
    def pending(self) -> FrozenSet[str]:
        """The observations collectors still working apart will add."""
        return frozenset(name for c, _ in self._apart for name in c.observes)

    def run(self, collector: Collector) -> None:
        """Run one collector under the guard (in a worker when it may run apart)."""
        ctx = self.ctx
        if self.pending.intersection(collector.needs):
            self.join()
        if collector.stage:
            ctx.progress.stage(collector.stage)
        if collector.apart and can_fork(ctx.root, ctx.progress):
            quiet = replace(ctx, progress=NullProgress())  # the worker never draws
            self._apart.append(
                (collector, start(partial(collector.collect, quiet), ctx.root, ctx.progress))
            )
            return
        self._add(collector, partial(collector.collect, ctx))

    def join(self) -> None:
        """Wait for the collectors working apart; add what they observed (a failure: a gap)."""
        running, self._apart = self._apart, []
        for collector, work in running:
            self._add(collector, work.result)

    def finish(self) -> Tuple[Observed, Tuple[Gap, ...]]:
        """Every observation and gap, once the collectors working apart are done."""
        self.join()
        return self.ctx.observed, tuple(self.gaps)

    def cancel(self) -> None:
        """Stop the collectors still working apart (the scan is being abandoned)."""
        running, self._apart = self._apart, []
        for _, work in running:
            work.cancel()

    def _add(self, collector: Collector, step: Callable[[], Collected]) -> None:
        result = guarded(collector.id, None, self.gaps, step, Collected())
        extra = sorted(set(result.values) - set(collector.observes))
        if extra:
            why = RuntimeError(f"returned undeclared observations {', '.join(extra)}")
            self.gaps.append(failure_gap(collector.id, None, why))
            return
        for name, value in result.values.items():
            self.ctx.observed.add(name, value)
        self.gaps.extend(result.gaps)


def start_collectors(
    ctx: CollectContext, collectors: Tuple[Collector, ...] = COLLECTORS
) -> Collection:
    """Run every collector serving the host's OS, each under the guard; the ones declared
    ``apart`` may still be working when this returns (:meth:`Collection.finish` waits for them).

    A collector that raises leaves its observations empty and a ``collector_failed`` gap; one
    that returns an observation it did not declare is a failure too (its values are dropped).
    An area no collector serves on this OS is a ``not_collected`` gap.
    """
    run = Collection(ctx)
    served: Set[str] = set()
    skipped: Dict[str, List[str]] = {}
    try:
        for collector in collectors:
            if not runs_on(collector, ctx.os):
                for name in collector.observes:
                    skipped.setdefault(name, []).append(collector.id)
                continue
            served.update(collector.observes)
            run.run(collector)
    except BaseException:
        run.cancel()
        raise
    for name, ids in sorted(skipped.items()):
        if name not in served:
            for cid in ids:
                detail = f"{cid}: not collected on {ctx.os} (no collector for {name} on this OS)"
                run.gaps.append(Gap(cid, None, GapReason.NOT_COLLECTED, detail))
    return run


def run_collectors(
    ctx: CollectContext, collectors: Tuple[Collector, ...] = COLLECTORS
) -> Tuple[Observed, Tuple[Gap, ...]]:
    """Run every collector serving the host's OS (:func:`start_collectors`) and wait for all."""
    return start_collectors(ctx, collectors).finish()


def observed_names() -> FrozenSet[str]:
    """Every observation some registered collector fills in."""
    return frozenset(name for c in COLLECTORS for name in c.observes)
