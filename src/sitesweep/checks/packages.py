"""Installed distributions against the packs' affected releases."""

from __future__ import annotations

from typing import Iterator

from sitesweep.checks.base import Check, CheckContext
from sitesweep.model import Category, Evidence, Finding, Severity


class AffectedInstalled(Check):
    """An affected release of a distribution is installed.

    Matches each distribution's canonical (PEP 503) name and its version against every pack's
    PEP 440 specifiers. A version that is not PEP 440 is still reported when the name matches,
    one level lower, saying so: a malformed version string on a targeted package is itself a clue.
    """

    id = "package/affected-installed"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding for every installed distribution in an affected range."""
        for pack in ctx.packs.packs:
            for release in pack.affected:
                for dist in ctx.inventory.distributions:
                    if dist.name != release.name:
                        continue
                    hit = release.matches(dist.version)
                    if hit is False:
                        continue
                    severity = release.severity
                    title = f"{dist.raw_name} {dist.version} installed (affected release)"
                    if hit is None:
                        severity = Severity.HIGH
                        title = f"{dist.raw_name} with unreadable version {dist.version!r}"
                    spec = " || ".join(str(s) for s in release.specifiers)
                    yield Finding(
                        rule=f"{pack.id}/affected/{release.name}",
                        severity=severity,
                        category=Category.PACKAGE,
                        title=title,
                        paths=(dist.path,),
                        environment=ctx.env_prefix(dist.path),
                        distribution=dist.name,
                        version=dist.version,
                        evidence=(
                            Evidence("affected versions", spec),
                            Evidence("why", release.note),
                            Evidence("installer", dist.installer or "unknown"),
                        ),
                        remediation=pack.remediation,
                        pack=pack.id,
                    )
