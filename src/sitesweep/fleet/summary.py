"""One fleet summary from any set of bundles: per host its verdict, what to rotate, what was missed.

Bundles come from ``sweep``, from the Ansible playbook, or copied by hand (``.tar.gz`` or
unpacked). Each is analysed with the current packs. The sweep journals found beside them
(:mod:`sitesweep.fleet.journal`; an older ``sweep.json`` where there is no journal) add the hosts
that could not be checked and each host's sweep status.

Every host counts once: per inventory name the latest attempt with a good bundle is taken (else
the latest attempt), across every sweep directory given; a bundle that an attempt superseded is
not a host of its own, and bundles copied by hand count once per machine id.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sitesweep.bundle import layout
from sitesweep.errors import BundleError
from sitesweep.fleet.journal import JOURNAL_DIR, Attempt, good_bundle, latest, read_attempts
from sitesweep.fleet.sweep import SWEEP_FILE
from sitesweep.fleet.views import (
    ENCRYPTED,
    BundleView,
    EncryptedBundleError,
    cached_view,
    manifest_of,
    view_bundle,
    views_digest,
)
from sitesweep.model import Severity
from sitesweep.outcome import Verdict
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet

if TYPE_CHECKING:
    from sitesweep.intel.index import IndexSpec

COMPROMISED = Verdict.COMPROMISED.value
INCOMPLETE = Verdict.INCOMPLETE.value
CLEAN = Verdict.CLEAN.value
UNCHECKED = Verdict.UNCHECKED.value
BAD_BUNDLE = "bad_bundle"
"""Status of a bundle that cannot be read (its host is unchecked)."""
ENCRYPTED_MARK = "age-encrypted, not read: "
"""How an encrypted bundle's problem starts (its host's status is then ``encrypted``)."""


@dataclass(frozen=True)
class HostRow:
    """One host of the fleet report.

    Attributes:
        name: the sweep's name for the host, else the bundle's hostname.
        hostname: what the host calls itself (from the bundle; empty without one).
        verdict: ``compromised`` (findings at/above the threshold), ``incomplete`` (nothing
            found but not everything checked: see ``incomplete``), ``clean`` (checked
            completely, nothing found) or ``unchecked`` (no usable bundle: see status).
        status: the sweep status (``ok``, ``unreachable``...), ``bundle`` for a bundle alone,
            ``bad_bundle`` for one that cannot be read.
        detail: the sweep's or the bundle reader's message.
        worst: most severe finding.
        findings: number of findings.
        environments: environments with findings at/above the threshold.
        rotate: credential-exposure findings (what to rotate).
        gaps: coverage gaps of the analysis.
        reduced: checks that ran in reduced form on the host.
        incomplete: why the host is not called clean although nothing was found.
        bundle: the bundle's path.
        machine_id: the host's ``/etc/machine-id`` (from the bundle).
        attempts: sweep attempts journalled for this host.
        judged: how the findings were reached: the host's (matched on the target) merged
            with the controller's YARA, or analysed on the controller and why.
        releases: affected releases installed (``litellm 1.82.8``), from the findings at/above
            the threshold.
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
    incomplete: Tuple[str, ...] = ()
    bundle: Optional[str] = None
    machine_id: Optional[str] = None
    attempts: int = 0
    judged: str = ""
    releases: Tuple[str, ...] = ()


_ORDER = tuple(v.value for v in Verdict)


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

    def verdict(self) -> Verdict:
        """The fleet's verdict: the most concerning host's; no host at all is unchecked."""
        if not self.rows:
            return Verdict.UNCHECKED
        return Verdict(min((r.verdict for r in self.rows), key=_ORDER.index))


def _is_bundle_dir(path: Path) -> bool:
    return (path / layout.INVENTORY).is_file() and (path / layout.MANIFEST).is_file()


def find_inputs(paths: Iterable[Path]) -> Tuple[List[Path], List[Path], List[Path]]:
    """Split the arguments into bundles, ``sweep.json`` files and sweep directories with journals.

    A ``sweep.json`` beside a journal is the journal's summary and is left out.
    """
    bundles: List[Path] = []
    sweeps: List[Path] = []
    journalled: List[Path] = []
    for path in paths:
        if path.is_file():
            (sweeps if path.name == SWEEP_FILE else bundles).append(path)
        elif _is_bundle_dir(path):
            bundles.append(path)
        elif path.is_dir():
            journalled.append(path)
            sweeps.extend(
                p for p in sorted(path.rglob(SWEEP_FILE)) if not (p.parent / JOURNAL_DIR).is_dir()
            )
            archives = sorted(path.rglob("sitesweep-*.tar.gz"))
            sealed = sorted(path.rglob("sitesweep-*.tar.gz.age"))
            bundles.extend(archives + sealed)
            packed = {a.name[: -len(".tar.gz")] for a in archives}
            packed |= {a.name[: -len(".tar.gz.age")] for a in sealed}
            dirs = sorted(p.parent for p in path.rglob(layout.INVENTORY))
            bundles.extend(d for d in dirs if d.name not in packed and _is_bundle_dir(d))
    unique = list(dict.fromkeys(p.resolve() for p in bundles))
    return (
        unique,
        list(dict.fromkeys(p.resolve() for p in sweeps)),
        list(dict.fromkeys(p.resolve() for p in journalled)),
    )


def _legacy_attempts(sweeps: Sequence[Path]) -> List[Tuple[Attempt, Path]]:
    """The host entries of ``sweep.json`` files written without a journal (older sweeps, playbook).

    Raises:
        BundleError: a ``sweep.json`` is unreadable.
    """
    found: List[Tuple[Attempt, Path]] = []
    for path in sweeps:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: {exc}") from exc
        hosts = doc.get("hosts") if isinstance(doc, dict) else None
        finished = str(doc.get("finished", "")) if isinstance(doc, dict) else ""
        for entry in hosts if isinstance(hosts, list) else ():
            if isinstance(entry, dict):
                attempt = Attempt.from_doc({"finished": finished, **entry})
                if attempt is not None:
                    found.append((attempt, path.parent.resolve()))
    return found


def row_of(name: str, status: str, detail: str, view: BundleView, bundle: Path) -> HostRow:
    """The row of a host whose bundle was analysed into ``view``."""
    if _notable(view.judged) and view.judged not in detail:
        # The host matched but its findings could not be taken: say so where people look.
        detail = "; ".join(filter(None, (detail, view.judged)))
    return HostRow(
        name=name,
        hostname=view.hostname,
        verdict=view.verdict,
        status=status,
        detail=detail,
        worst=view.worst,
        findings=view.findings,
        environments=view.environments,
        rotate=view.rotate,
        gaps=view.gaps,
        reduced=view.reduced,
        incomplete=view.incomplete,
        bundle=str(bundle),
        machine_id=view.machine_id,
        judged=view.judged,
        releases=view.releases,
    )


def _notable(judged: str) -> bool:
    """Whether a host's findings were re-derived here for a reason worth telling (other packs,
    a bundle that does not verify): observations only are simply analysed, as always."""
    return judged.startswith("analysed on the controller:") and "observations only" not in judged


class _Views:
    """Each bundle analysed once per summary."""

    def __init__(
        self,
        packs: PackSet,
        threshold: Severity,
        index: Optional[IndexSpec] = None,
        identity: Optional[Path] = None,
    ) -> None:
        self.packs = packs
        self.threshold = threshold
        self.index = index
        self.identity = identity
        self.digest = views_digest(packs, index)
        self.done: Dict[Path, Tuple[Optional[BundleView], str]] = {}

    def status(self, bundle: Path) -> str:
        """The status of a bundle that gave no view: encrypted (unopened) or unreadable."""
        problem = self.done.get(bundle, (None, ""))[1]
        return ENCRYPTED if problem.startswith(ENCRYPTED_MARK) else BAD_BUNDLE

    def prefetch(self, bundles: Iterable[Path], signatures: Tuple[Path, ...], workers: int) -> None:
        """Analyse the uncached ``bundles`` in a pool of ``workers`` processes (across cores:
        the analysis is Python code that threads would serialise), caching each view."""
        todo: List[Path] = []
        for bundle in dict.fromkeys(bundles):
            try:
                cached, _ = cached_view(bundle, self.digest, self.threshold)
            except BundleError as exc:
                self.done[bundle] = (None, str(exc))
                continue
            if cached is not None:
                self.done[bundle] = (cached, "")
            else:
                todo.append(bundle)
        if workers < 2 or len(todo) < 2:
            return
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        with ProcessPoolExecutor(
            min(workers, len(todo)), context, _load_worker_packs, (signatures,)
        ) as pool:
            n = len(todo)
            views = pool.map(
                _view_in_worker,
                todo,
                [self.threshold] * n,
                [self.index] * n,
                [self.identity] * n,
            )
            for bundle, outcome in zip(todo, views):
                self.done[bundle] = outcome

    def get(self, bundle: Path) -> Tuple[Optional[BundleView], str]:
        if bundle not in self.done:
            try:
                view = view_bundle(
                    bundle, self.packs, self.threshold, self.digest, self.index, self.identity
                )
                self.done[bundle] = (view, "")
            except EncryptedBundleError as exc:
                self.done[bundle] = (None, f"{ENCRYPTED_MARK}{exc}")
            except BundleError as exc:
                self.done[bundle] = (None, str(exc))
        return self.done[bundle]


_WORKER_PACKS: List[PackSet] = []


def _load_worker_packs(signatures: Tuple[Path, ...]) -> None:
    """A pool worker loads (and compiles) the packs once."""
    _WORKER_PACKS.append(load_packs(signatures))


def _view_in_worker(
    bundle: Path,
    threshold: Severity,
    index: Optional[IndexSpec] = None,
    identity: Optional[Path] = None,
) -> Tuple[Optional[BundleView], str]:
    try:
        return view_bundle(bundle, _WORKER_PACKS[0], threshold, index=index, identity=identity), ""
    except EncryptedBundleError as exc:
        return None, f"{ENCRYPTED_MARK}{exc}"
    except BundleError as exc:
        return None, str(exc)


POOL_FROM = 8
"""Uncached bundles from which ``report`` analyses in a process pool."""


def _journalled_rows(
    attempts: List[Tuple[Attempt, Path]], views: _Views
) -> Tuple[List[HostRow], set[Path]]:
    """One row per journalled host; also every bundle any attempt names (so not a host again)."""
    named = {(base / a.bundle).resolve() for a, base in attempts if a.bundle is not None}
    counts: Dict[str, int] = {}
    newest: Dict[str, Attempt] = {}
    for a, _ in attempts:
        counts[a.host] = counts.get(a.host, 0) + 1
        if a.host not in newest or a.finished >= newest[a.host].finished:
            newest[a.host] = a
    rows: List[HostRow] = []
    for host, (attempt, base) in sorted(latest(attempts).items()):
        bundle = good_bundle(attempt, base)
        detail = attempt.detail
        last = newest[host]
        if last is not attempt and last.status != attempt.status:
            detail += f" (latest attempt {last.finished}: {last.status}: {last.detail})"
        view, problem = views.get(bundle) if bundle is not None else (None, "")
        if bundle is not None and view is not None:
            row = row_of(host, attempt.status, detail, view, bundle)
        elif bundle is not None:
            status = views.status(bundle)
            row = HostRow(host, "", UNCHECKED, status, _told(problem), bundle=str(bundle))
        else:
            gone = attempt.ok  # a good attempt whose bundle was removed since
            status = "bundle_missing" if gone else attempt.status
            why = f"{attempt.bundle} is gone" if gone else detail
            row = HostRow(host, "", UNCHECKED, status, why)
        rows.append(_with_attempts(row, counts[host]))
    return rows, named


def _told(problem: str) -> str:
    return problem[len(ENCRYPTED_MARK) :] if problem.startswith(ENCRYPTED_MARK) else problem


def _with_attempts(row: HostRow, attempts: int) -> HostRow:
    return HostRow(**{**asdict(row), "attempts": attempts})


def _merge_loose(rows: List[HostRow], loose: List[Tuple[Path, BundleView]]) -> List[HostRow]:
    """Add bundles no attempt names: one row per machine id (the latest bundle), never twice."""
    by_machine = {r.machine_id: i for i, r in enumerate(rows) if r.machine_id}
    newest: Dict[str, Tuple[Path, BundleView]] = {}
    extra: List[HostRow] = []
    for bundle, view in loose:
        if view.machine_id is None:
            extra.append(row_of(view.hostname or bundle.name, "bundle", "", view, bundle))
            continue
        held = newest.get(view.machine_id)
        if held is None or view.finished > held[1].finished:
            newest[view.machine_id] = (bundle, view)
    for machine, (bundle, view) in newest.items():
        if machine in by_machine:
            at = by_machine[machine]
            known = rows[at]
            held_view = _held_finished(known)
            if view.finished > held_view:
                detail = f"newer bundle copied by hand: {bundle.name}"
                rows[at] = _with_attempts(
                    row_of(known.name, "bundle", detail, view, bundle), known.attempts
                )
            continue
        extra.append(row_of(view.hostname or bundle.name, "bundle", "", view, bundle))
    return rows + extra


def _held_finished(row: HostRow) -> str:
    if row.bundle is None:
        return ""
    try:
        return str(manifest_of(Path(row.bundle)).get("finished", ""))
    except BundleError:
        return ""


def summarize(
    paths: Sequence[Path],
    signatures: Tuple[Path, ...] = (),
    threshold: Severity = Severity.HIGH,
    packs: Optional[PackSet] = None,
    workers: Optional[int] = None,
    index: Optional[IndexSpec] = None,
    identity: Optional[Path] = None,
) -> FleetSummary:
    """Analyse every bundle found under ``paths`` and merge in the sweep journals.

    ``packs`` are packs loaded already (the sweep's); else they are loaded from ``signatures``.
    Bundles without a cached view are analysed in a pool of ``workers`` processes (default: the
    usable cores, up to 8, from :data:`POOL_FROM` bundles on; never with given ``packs``).
    ``index`` is a package index asked about every bundle's releases (``report --index``).
    ``identity`` (an age identity file) opens encrypted bundles; without it their hosts are
    ``unchecked`` with status ``encrypted``, never clean.

    Raises:
        PackError: a signature pack is invalid.
        BundleError: a ``sweep.json`` is unreadable.
    """
    bundles, sweeps, dirs = find_inputs(paths)
    pool = packs is None
    packs = load_packs(signatures) if packs is None else packs  # once for every bundle
    views = _Views(packs, threshold, index, identity)
    attempts = [pair for d in dirs for pair in read_attempts(d)]
    attempts += _legacy_attempts(sweeps)
    if pool:
        chosen = [good_bundle(a, base) for a, base in latest(attempts).values()]
        named = {(base / a.bundle).resolve() for a, base in attempts if a.bundle is not None}
        wanted = [b for b in chosen if b is not None] + [b for b in bundles if b not in named]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        default = min(cores, 8) if len(wanted) >= POOL_FROM else 1
        views.prefetch(wanted, signatures, default if workers is None else workers)
    rows, named = _journalled_rows(attempts, views)
    loose: List[Tuple[Path, BundleView]] = []
    for bundle in bundles:
        if bundle in named:
            continue
        view, problem = views.get(bundle)
        if view is None:
            status = views.status(bundle)
            rows.append(
                HostRow(bundle.name, "", UNCHECKED, status, _told(problem), bundle=str(bundle))
            )
        else:
            loose.append((bundle, view))
    rows = _merge_loose(rows, loose)
    return FleetSummary(tuple(sorted(rows, key=_order)), threshold)


def _order(row: HostRow) -> Tuple[int, str]:
    rank = _ORDER.index(row.verdict) if row.verdict in _ORDER else len(_ORDER)
    return (rank, row.name)


def fleet_doc(summary: FleetSummary) -> Dict[str, Any]:
    """The summary as plain data (``fleet.json``)."""
    return {
        "threshold": summary.threshold.value,
        "verdict": summary.verdict().value,
        "counts": summary.counts(),
        "hosts": [asdict(row) for row in summary.rows],
    }
