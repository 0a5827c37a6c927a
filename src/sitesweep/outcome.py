"""The outcome of a scan: the one place a verdict is decided.

Every renderer (terminal, report.txt, report.html, the exports, the fleet view) reads the verdict,
the severity counts and the rotation list from here and never re-derives them; judging happens in
checks, summing up happens here. This module imports no check and no engine: renderers import it
and stay on their side of the line (``tests/test_layering.py``).

How a renderer calls it::

    from sitesweep.outcome import ScanResult, Outcome, outcome_of

    out = outcome_of(result, threshold)   # threshold: the --fail-on severity (default high)
    out.verdict       # Verdict: clean / compromised / incomplete / unchecked
    out.headline      # one line saying it, with counts
    out.counts        # ((Severity, n), ...) for every severity, most severe first
    out.rotation      # (RotationItem, ...): one per secret, merged across packs
    out.incomplete    # why the verdict is not clean although nothing was found (or ())
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from sitesweep.model import Category, Finding, Gap, GapReason, Severity, StrEnum

if TYPE_CHECKING:
    from sitesweep.inventory import Inventory
    from sitesweep.packs.model import PackSet


class Verdict(StrEnum):
    """What a host (or a fleet) is, told with what was checked.

    The order of the members is the order of concern for a fleet roll-up: one compromised host
    makes the fleet compromised; otherwise one host not fully checked makes it incomplete.
    """

    COMPROMISED = "compromised"
    """Indicators at or above the threshold were found."""
    INCOMPLETE = "incomplete"
    """Nothing found, but some areas could not be checked (unreadable areas touching
    environments, reduced checks, permission gaps): never to be read as clean."""
    UNCHECKED = "unchecked"
    """The host could not be checked at all (unreachable, collector failed, bad bundle)."""
    CLEAN = "clean"
    """Checked completely and nothing at or above the threshold was found."""


@dataclass(frozen=True)
class ScanResult:
    """What one analysis says about one inventory.

    Attributes:
        inventory: the observations analysed.
        packs: the packs they were matched against.
        findings: every finding, most severe first, deduplicated.
        gaps: the inventory's gaps plus checks that could not run.
        checks_run: ids of the checks that ran.
        matched: ``False`` for observations that were never matched (``collect``): their
            outcome is ``unchecked``, never clean (see :meth:`observations`).
        reduced: (area, why) for checks that ran in reduced form on the host (the agent's
            ``reduced_checks``): the verdict is then at best incomplete.
    """

    inventory: Inventory
    packs: PackSet
    findings: Tuple[Finding, ...]
    gaps: Tuple[Gap, ...]
    checks_run: Tuple[str, ...]
    matched: bool = True
    reduced: Tuple[Tuple[str, str], ...] = ()

    @classmethod
    def observations(
        cls, inventory: Inventory, packs: PackSet, reduced: Tuple[Tuple[str, str], ...] = ()
    ) -> ScanResult:
        """Observations only (``collect``): no check ran, so nothing is judged. The gaps are
        bounded as :func:`sitesweep.engine.analyze` bounds them (:mod:`sitesweep.gapbound`)."""
        from sitesweep.gapbound import bounded_gaps  # gapbound needs the inventory

        gaps = bounded_gaps(inventory.gaps, inventory)
        return cls(inventory, packs, (), gaps, (), matched=False, reduced=reduced)

    def worst(self) -> Severity:
        """Return the most severe finding's severity (info when there is none)."""
        return self.findings[0].severity if self.findings else Severity.INFO

    def at_least(self, threshold: Severity) -> Tuple[Finding, ...]:
        """Return the findings at or above ``threshold``."""
        return tuple(f for f in self.findings if f.severity.at_least(threshold))


@dataclass(frozen=True)
class RotationItem:
    """One secret to rotate: the payload that steals it ran here.

    Attributes:
        secret: what to rotate (a path, or "the value of VAR set in PATH").
        path: the file that holds it.
        account: the user whose secret it is (``system`` outside homes).
        packs: the packs whose payload steals it.
        evidence: why each pack's payload is taken to have run here (``pack: why``).
        findings: ids of the findings behind the item.
    """

    secret: str
    path: str
    account: str
    packs: Tuple[str, ...]
    evidence: Tuple[str, ...]
    findings: Tuple[str, ...]

    def line(self) -> str:
        """The item as one line (report.txt, terminal)."""
        return f"{self.secret} (account {self.account}; stolen by {', '.join(self.packs)})"


@dataclass(frozen=True)
class Outcome:
    """What a result means, summed up once for every renderer.

    Attributes:
        verdict: clean, compromised, incomplete or unchecked.
        threshold: findings at or above it make the host compromised.
        headline: one line saying the verdict with its counts.
        counts: findings per severity (every severity, most severe first).
        serious: findings at or above the threshold.
        rotation: one item per secret to rotate (empty when no payload ran here).
        incomplete: why not everything was checked (empty when everything was); a
            compromised host may still list reasons.
    """

    verdict: Verdict
    threshold: Severity
    headline: str
    counts: Tuple[Tuple[Severity, int], ...]
    serious: int
    rotation: Tuple[RotationItem, ...]
    incomplete: Tuple[str, ...]

    def count(self, severity: Severity) -> int:
        """Findings of exactly ``severity``."""
        return dict(self.counts).get(severity, 0)

    def doc(self) -> Dict[str, object]:
        """The outcome as plain data (the JSON outputs and findings' companions)."""
        return {
            "verdict": self.verdict.value,
            "threshold": self.threshold.value,
            "headline": self.headline,
            "counts": {s.value: n for s, n in self.counts},
            "rotation": [
                {
                    "secret": r.secret,
                    "path": r.path,
                    "account": r.account,
                    "packs": list(r.packs),
                    "evidence": list(r.evidence),
                    "findings": list(r.findings),
                }
                for r in self.rotation
            ],
            "incomplete": list(self.incomplete),
        }


_HARMLESS = frozenset(
    {
        GapReason.VANISHED,
        GapReason.PRUNED,
        GapReason.LIVE_ONLY,
        GapReason.NOT_CROSSED,
        GapReason.HASHED_ONLY,
    }
)
"""Gap reasons that leave nothing of interest unchecked: a file gone while the scan ran, a
directory the user asked not to enter, a live-only check on an offline tree, a filesystem the
policy does not cross, a file judged by its hash whose content the bundle does not keep."""

_NOT_RUN = frozenset(
    {
        GapReason.CHECK_FAILED,
        GapReason.CHECK_SKIPPED,
        GapReason.TIMEOUT,
        GapReason.COLLECTOR_FAILED,
        GapReason.NOT_COLLECTED,
    }
)
"""Checks or collectors that did not run (or not to the end) on this host."""

_ACCOUNT_FILES = frozenset({"/etc/passwd", "/etc/os-release", "/usr/lib/os-release"})
"""Files whose loss leaves the host's accounts (so its homes) or its OS unknown."""

_COMPENSATED = {"yara": "file/yara"}
"""Reduced areas the analysis makes up for when the named check ran on the evidence."""


def _under(path: str, prefixes: Tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def coverage_reasons(result: ScanResult) -> Tuple[str, ...]:
    """Why ``result`` does not cover the host completely, one sentence per kind of hole."""
    reasons: List[str] = []
    reduced = [
        f"{area}: {why}"
        for area, why in result.reduced
        if _COMPENSATED.get(area) not in result.checks_run
    ]
    if reduced:
        reasons.append(f"{len(reduced)} check(s) reduced on the host ({'; '.join(reduced)})")
    envs = tuple(e.prefix for e in result.inventory.environments)
    counted = [g for g in result.gaps if g.reason not in _HARMLESS]
    not_run = sorted({g.area for g in counted if g.reason in _NOT_RUN})
    if not_run:
        reasons.append(f"check(s) that did not run or finish: {', '.join(not_run)}")
    denied = [g for g in counted if g.reason is GapReason.PERMISSION_DENIED]
    if denied:
        reasons.append(f"{len(denied)} area(s) unreadable (permission denied), e.g. {_eg(denied)}")
    touching = [
        g
        for g in counted
        if g.reason not in _NOT_RUN
        and g.reason is not GapReason.PERMISSION_DENIED
        and g.path is not None
        and _under(g.path, envs)
    ]
    if touching:
        reasons.append(f"{len(touching)} unread area(s) inside environments, e.g. {_eg(touching)}")
    # A volume of a disk image that could not be read, or a filesystem the image ends inside
    # (a truncated copy): what it held is unknown, so nothing found is not "clean".
    unread = [
        g for g in counted if g.area == "image" and g.path is None and g.reason not in _NOT_RUN
    ]
    if unread:
        first = unread[0].detail.split(": ", 1)[-1]
        reasons.append(f"{len(unread)} part(s) of the disk image unread, e.g. {first}")
    accounts = [
        g
        for g in counted
        if g.reason is GapReason.UNKNOWN_OS
        or g.path in _ACCOUNT_FILES
        or (g.area == "accounts" and g.reason not in _NOT_RUN)
    ]
    if accounts:
        reasons.append(f"unknown OS or unreadable accounts ({_eg(accounts)})")
    return tuple(reasons)


def _eg(gaps: List[Gap]) -> str:
    first = gaps[0]
    return f"{first.path or first.area} ({first.reason})"


def rotation_items(findings: Tuple[Finding, ...]) -> Tuple[RotationItem, ...]:
    """One item per secret whose stealing payload ran here, merged across packs.

    The checks decide (``credentials/*``): a credential finding carrying ``payload ran`` evidence
    is a rotation item; a credential merely present is not, nor is a file that holds no secret.
    """
    merged: Dict[Tuple[str, str], Dict[str, List[str]]] = {}
    order: List[Tuple[str, str]] = []
    for f in findings:
        if f.category is not Category.CREDENTIAL_EXPOSURE:
            continue
        ran = [e.value for e in f.evidence if e.label == "payload ran"]
        if not ran:
            continue
        for secret, path, account in _secrets(f):
            key = (secret, account)
            if key not in merged:
                merged[key] = {"path": [path], "packs": [], "evidence": [], "findings": []}
                order.append(key)
            item = merged[key]
            pack = f.pack or f.rule.split("/", 1)[0]
            _add(item["packs"], pack)
            for why in ran:
                _add(item["evidence"], f"{pack}: {why}")
            _add(item["findings"], f.id)
    return tuple(
        RotationItem(
            secret,
            merged[(secret, account)]["path"][0],
            account,
            tuple(sorted(merged[(secret, account)]["packs"])),
            tuple(merged[(secret, account)]["evidence"]),
            tuple(merged[(secret, account)]["findings"]),
        )
        for secret, account in sorted(order)
    )


def _add(items: List[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _secrets(f: Finding) -> List[Tuple[str, str, str]]:
    """(secret, path, account) of each secret a credential finding names."""
    labels: Dict[str, str] = {}
    for e in f.evidence:
        labels.setdefault(e.label, e.value)
    access = [e.value for e in f.evidence if e.label == "access"]
    if access:  # cluster access: "path (user)" per access file
        out = []
        for value in access:
            path, _, rest = value.rpartition(" (")
            out.append((path or value, path or value, rest.rstrip(")") or "system"))
        return out
    path = f.paths[0] if f.paths else f.title
    return [(labels.get("secret", path), path, labels.get("user", "system"))]


def _headline(verdict: Verdict, serious: int, threshold: Severity, result: ScanResult) -> str:
    if verdict is Verdict.UNCHECKED:
        return "UNCHECKED: Observations only, nothing was matched (run 'sitesweep analyze')"
    if verdict is Verdict.COMPROMISED:
        critical = sum(1 for f in result.findings if f.severity is Severity.CRITICAL)
        extra = f" ({critical} critical)" if critical else ""
        return f"COMPROMISED: {serious} finding(s) at or above {threshold}{extra}"
    lesser = len(result.findings)
    tail = f"; {lesser} lesser finding(s) to review" if lesser else ""
    if verdict is Verdict.INCOMPLETE:
        return (
            f"INCOMPLETE: no finding at or above {threshold}, but not everything was checked{tail}"
        )
    return f"CLEAN: no finding at or above {threshold}{tail}"


def outcome_of(result: ScanResult, threshold: Severity = Severity.HIGH) -> Outcome:
    """Sum ``result`` up: verdict, headline, counts, rotation list and coverage holes."""
    serious = len(result.at_least(threshold))
    reasons = coverage_reasons(result)
    if not result.matched:
        verdict = Verdict.UNCHECKED
    elif serious:
        verdict = Verdict.COMPROMISED
    elif reasons:
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.CLEAN
    counts = Counter(f.severity for f in result.findings)
    return Outcome(
        verdict=verdict,
        threshold=threshold,
        headline=_headline(verdict, serious, threshold, result),
        counts=tuple((s, counts.get(s, 0)) for s in Severity),
        serious=serious,
        rotation=rotation_items(result.findings) if result.matched else (),
        incomplete=reasons,
    )


@dataclass(frozen=True)
class BundleRef:
    """Where a result's bundle went, as the outputs name it.

    Attributes:
        directory: the bundle directory (gone when encrypted).
        archive: the ``.tar.gz`` (or ``.tar.gz.age``).
        archive_sha256: SHA-256 of the archive file as written (``None`` when unknown).
        encrypted: whether only the age-encrypted archive is kept.
    """

    directory: str
    archive: str
    archive_sha256: Optional[str]
    encrypted: bool = False

    def doc(self) -> Dict[str, object]:
        """Plain data for the JSON outputs."""
        return {
            "directory": None if self.encrypted else self.directory,
            "archive": self.archive,
            "archive_sha256": self.archive_sha256,
            "encrypted": self.encrypted,
        }


@dataclass(frozen=True)
class ResultView:
    """What every renderer receives: the result, its outcome, and where its bundle went.

    Build it with :func:`view_of`; a renderer registered in ``sitesweep.exports.registry`` is a
    ``Callable[[ResultView], Iterable[str]]`` yielding its text in pieces.
    """

    result: ScanResult
    outcome: Outcome
    bundle: Optional[BundleRef] = None


def view_of(
    result: ScanResult, threshold: Severity = Severity.HIGH, bundle: Optional[BundleRef] = None
) -> ResultView:
    """The result with its outcome decided once (the one call renderers' callers make)."""
    return ResultView(result, outcome_of(result, threshold), bundle)


NO_ENVIRONMENT = "(host-wide: no Python environment)"
HEURISTIC = "(heuristics: no pack)"


def grouped(
    findings: Tuple[Finding, ...],
) -> List[Tuple[str, List[Tuple[str, List[Finding]]]]]:
    """Findings by environment, then by pack, in order of their most severe finding."""
    envs: Dict[str, Dict[str, List[Finding]]] = {}
    for f in findings:  # findings come most severe first: groups keep that order
        by_pack = envs.setdefault(f.environment or NO_ENVIRONMENT, {})
        by_pack.setdefault(f.pack or HEURISTIC, []).append(f)
    return [(env, list(packs.items())) for env, packs in envs.items()]


@dataclass(frozen=True)
class PackRemedy:
    """What to do about one pack's findings, said once.

    Attributes:
        pack: the pack id (or :data:`HEURISTIC`).
        title: the pack's title.
        texts: each distinct remediation of its findings (the pack's own first).
        worst: its most severe finding's severity.
        findings: how many findings it has.
    """

    pack: str
    title: str
    texts: Tuple[str, ...]
    worst: Severity
    findings: int


def remedies(result: ScanResult) -> Tuple[PackRemedy, ...]:
    """One remedy per pack with findings, most severe first; each text stated once."""
    by_pack: Dict[str, List[Finding]] = {}
    for f in result.findings:
        by_pack.setdefault(f.pack or HEURISTIC, []).append(f)
    out = []
    for pack_id, found in by_pack.items():
        pack = result.packs.get(pack_id)
        own = pack.remediation.strip() if pack is not None else ""
        texts: List[str] = [own] if own and found[0].severity.rank else []
        for f in found:
            text = (f.remediation or "").replace(own, "").strip() if own else f.remediation
            if text and text.strip():
                _add(texts, text.strip())
        title = pack.title if pack is not None else "findings of sitesweep's own heuristics"
        out.append(PackRemedy(pack_id, title, tuple(texts), found[0].severity, len(found)))
    return tuple(out)


def fleet_verdict(verdicts: Tuple[Verdict, ...]) -> Optional[Verdict]:
    """The fleet's verdict: the most concerning of its hosts' (``None`` for no host)."""
    order = list(Verdict)
    return min(verdicts, key=order.index) if verdicts else None
