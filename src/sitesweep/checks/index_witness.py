"""What the package index says of the installed releases (``analyze --index``), judged.

The strongest public signal of a malicious release is that the index took it down: every
compromised release of 2026 was removed or quarantined within hours. And "right version, wrong
bytes" (files that differ from the published wheel, with a RECORD rewritten to match) is
invisible to RECORD verification, but not to the published wheel's RECORD.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.intel.model import ReleaseState, ReleaseWitness
from sitesweep.model import Category, Evidence, Finding, Gap, Severity

_MALICE = re.compile(r"malic|malware|compromis|backdoor|security|stealer|hijack", re.IGNORECASE)
"""Words in a yank reason that say the release was pulled for what it did."""
_SHOWN = 20
"""Differing files listed in one finding's evidence."""
_REMEDIATION = (
    "Compare the installed release with the one the index publishes. A release that is gone, "
    "yanked for a security reason, or whose files differ from the published wheel is to be "
    "treated as malicious until shown otherwise: keep the evidence, remove it from every "
    "environment and cache, and read the project's advisories."
)


class IndexWitnessCheck(Check):
    """The package index no longer publishes an installed release, or publishes other bytes.

    Runs only when the analysis asked an index (``--index`` or ``--index-snapshot``); without
    one it yields nothing and records nothing.
    """

    id = "index/witness"
    default_severity = Severity.HIGH

    def __init__(self) -> None:
        self._gaps: Tuple[Gap, ...] = ()

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding for each release that is gone, yanked, unknown or differs."""
        witness = ctx.index
        if witness is None:
            return
        self._gaps = witness.gaps
        for release in witness.releases:
            yield from self._judge(ctx, release)

    def gaps(self) -> Tuple[Gap, ...]:
        """Return what the index could not answer."""
        return self._gaps

    def _judge(self, ctx: CheckContext, release: ReleaseWitness) -> Iterator[Finding]:
        signals = _signals(ctx, release)
        index = Evidence("index", ctx.index.index if ctx.index else "?")
        hints = tuple(Evidence("signal", s) for s in signals)

        def finding(
            rule: str, severity: Severity, category: Category, title: str, *evidence: Evidence
        ) -> Finding:
            return Finding(
                rule=rule,
                severity=severity,
                category=category,
                title=title,
                paths=(release.distribution,),
                environment=ctx.env_prefix(release.distribution),
                distribution=release.name,
                version=release.version,
                evidence=(index, *evidence),
                remediation=_REMEDIATION,
            )

        name = f"{release.name} {release.version}"
        if release.state is ReleaseState.GONE:
            others = Evidence("other versions published", str(release.other_versions))
            yield finding(
                "index/release-gone",
                Severity.HIGH if signals else Severity.MEDIUM,
                Category.PACKAGE,
                f"{name} is no longer published on the index",
                others,
                *hints,
            )
        elif release.state is ReleaseState.PROJECT_MISSING:
            yield finding(
                "index/project-missing",
                Severity.MEDIUM if signals else Severity.LOW,
                Category.PACKAGE,
                f"{release.name} is not a project on the index (private, local or removed)",
                *hints,
            )
        elif release.state is ReleaseState.YANKED:
            reason = release.yanked_reason or "no reason given"
            bad = bool(_MALICE.search(reason)) or bool(signals)
            yield finding(
                "index/release-yanked",
                Severity.HIGH if bad else Severity.MEDIUM,
                Category.PACKAGE,
                f"{name} was yanked from the index: {reason}",
                Evidence("yank reason", reason),
                *hints,
            )
        if release.differing:
            shown = [
                Evidence(m.path, f"installed {m.installed}, published {m.published}")
                for m in release.differing[:_SHOWN]
            ]
            if len(release.differing) > _SHOWN:
                shown.append(Evidence("more", f"{len(release.differing) - _SHOWN} more files"))
            yield finding(
                "index/files-differ",
                Severity.HIGH,
                Category.INTEGRITY,
                f"{name}: {len(release.differing)} of {release.compared} installed files differ "
                "from the published wheel",
                Evidence("compared with", release.wheel or "?"),
                *shown,
            )


def _signals(ctx: CheckContext, release: ReleaseWitness) -> List[str]:
    """Other reasons to suspect this release: a pack names it, it was installed in a pack's
    window, its RECORD does not hold, or its files differ from the published wheel."""
    found: List[str] = [
        f"pack {pack.id} names {release.name}"
        for pack in ctx.packs.packs
        if any(a.name == release.name for a in pack.affected)
    ]
    dist = next((d for d in ctx.inventory.distributions if d.path == release.distribution), None)
    installed = dist.installed_at if dist else None
    if installed is not None:
        for pack in ctx.packs.packs:
            start, end = pack.window_start, pack.window_end
            if start and end and start.timestamp() <= installed <= end.timestamp():
                found.append(f"installed during the window of {pack.id}")
    if any(
        c.distribution == release.distribution and (c.modified or c.unlisted)
        for c in ctx.inventory.record_checks
    ):
        found.append("its RECORD does not match the installed files")
    if release.differing:
        found.append("installed files differ from the published wheel")
    return found
