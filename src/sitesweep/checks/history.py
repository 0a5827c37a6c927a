"""Shell-history lines that installed an affected distribution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Iterator, List, Optional, Tuple

from sitesweep import timefmt
from sitesweep.checks.base import Check, CheckContext
from sitesweep.host.history import HistoryInstall
from sitesweep.host.history_parse import HistoryPackage
from sitesweep.model import Category, Evidence, Finding, Severity
from sitesweep.packs.model import AffectedRelease, Pack, PackSet

MAX_EVIDENCE_LINES = 20
"""History lines quoted in one finding; more are counted."""


@dataclass(frozen=True)
class HistoryVerdict:
    """What one package of one history line means for one pack.

    Attributes:
        install: the history line.
        package: the affected package it names.
        pack: the pack.
        release: the affected release entry.
        severity: high (affected pin, or unpinned inside the window) or low (time unknown).
        reason: one phrase for the title.
    """

    install: HistoryInstall
    package: HistoryPackage
    pack: Pack
    release: AffectedRelease
    severity: Severity
    reason: str


def judge(install: HistoryInstall, packs: PackSet) -> Iterator[HistoryVerdict]:
    """Yield a verdict for every package of ``install`` a pack lists as affected."""
    for package in install.packages:
        for pack in packs.packs:
            for release in pack.affected:
                if release.name != package.name:
                    continue
                verdict = _grade(install, package, pack, release)
                if verdict is not None:
                    yield HistoryVerdict(install, package, pack, release, *verdict)


def _grade(
    install: HistoryInstall, package: HistoryPackage, pack: Pack, release: AffectedRelease
) -> Optional[Tuple[Severity, str]]:
    verb = "download" if install.tool.endswith("download") else "install"
    if package.version is not None:
        matched = release.matches(package.version)
        if matched is True:
            return Severity.HIGH, f"an {verb} of {package.name}=={package.version}"
        if matched is False:
            return None
    if install.epoch is None:
        return Severity.LOW, (
            f"an unpinned {verb} of {package.name}: installed at some point; version unknown"
        )
    if pack.window_start is None or pack.window_end is None:
        return Severity.LOW, f"an unpinned {verb} of {package.name} (pack has no window)"
    moment = datetime.fromtimestamp(install.epoch, tz=timezone.utc)
    if pack.window_start <= moment <= pack.window_end:
        return Severity.HIGH, f"an unpinned {verb} of {package.name} inside the incident window"
    return None


class HistoryAffectedInstall(Check):
    """Shell history shows an install of an affected release (or of its name in the window).

    An exact pin of an affected version is high; an unpinned install whose time (bash with
    ``HISTTIMEFORMAT``, zsh extended history, fish) falls inside the pack's incident window is
    high, since the index served the bad release then; an unpinned install with no time is low.
    One finding per (history file, distribution, pack), at the worst of its lines.
    """

    id = "history/affected-install"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (history file, distribution, pack)."""
        groups: Dict[Tuple[str, str, str], List[HistoryVerdict]] = {}
        for install in ctx.inventory.history_installs:
            for verdict in judge(install, ctx.packs):
                key = (install.path, verdict.package.name, verdict.pack.id)
                groups.setdefault(key, []).append(verdict)
        for verdicts in groups.values():
            yield _finding(verdicts)


def _finding(verdicts: List[HistoryVerdict]) -> Finding:
    worst = max(verdicts, key=lambda v: (v.severity.rank, -v.install.line))
    lines = sorted({(v.install.line, v.install.epoch, v.install.command) for v in verdicts})
    evidence = [
        Evidence("command", command, line) for line, _epoch, command in lines[:MAX_EVIDENCE_LINES]
    ]
    evidence += [
        Evidence("time", _iso(epoch), line) for line, epoch, _c in lines[:MAX_EVIDENCE_LINES]
    ]
    if len(lines) > MAX_EVIDENCE_LINES:
        evidence.append(Evidence("more lines", str(len(lines) - MAX_EVIDENCE_LINES)))
    evidence += [Evidence("user", worst.install.user), Evidence("why", worst.release.note)]
    return Finding(
        rule=f"{worst.pack.id}/history/{worst.package.name}",
        severity=worst.severity,
        category=Category.PACKAGE,
        title=f"shell history shows {worst.reason}",
        paths=(worst.install.path,),
        distribution=worst.package.name,
        version=worst.package.version,
        evidence=tuple(evidence),
        remediation=worst.pack.remediation,
        pack=worst.pack.id,
    )


def _iso(epoch: Optional[float]) -> str:
    if epoch is None:
        return "unknown (the history format has no time)"
    return timefmt.iso_utc(epoch)
