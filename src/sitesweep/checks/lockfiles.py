"""Lockfiles and requirement files pinning an affected release."""

from __future__ import annotations

from typing import Iterator

from sitesweep.checks.base import Check, CheckContext
from sitesweep.model import Category, Evidence, Finding, Severity


class LockedAffectedVersion(Check):
    """A lockfile or requirement file pins an affected release.

    Only exact pins count (``==1.82.8`` in a requirements file, ``version = "1.82.8"`` in
    ``uv.lock``): the next ``uv sync``, ``poetry install`` or ``pip install -r`` installs it again.
    Medium: a pin is not an installation, but it is how the release comes back.
    """

    id = "lockfile/affected-pin"
    default_severity = Severity.MEDIUM

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (file, pinned distribution, pack)."""
        for lock in ctx.inventory.lockfiles:
            for pin in lock.pins:
                if pin.version is None:
                    continue
                for pack in ctx.packs.packs:
                    for release in pack.affected:
                        if release.name != pin.name or release.matches(pin.version) is not True:
                            continue
                        yield Finding(
                            rule=f"{pack.id}/lockfile/{pin.name}",
                            severity=Severity.MEDIUM,
                            category=Category.LOCKFILE,
                            title=(
                                f"{lock.path.rsplit('/', 1)[-1]} pins {pin.name} {pin.version} "
                                "(affected release): the next install brings it back"
                            ),
                            paths=(lock.path,),
                            distribution=pin.name,
                            version=pin.version,
                            evidence=(
                                Evidence("pin", pin.spec or pin.version, pin.line),
                                Evidence("format", lock.tool),
                                Evidence("why", release.note),
                            ),
                            remediation=pack.remediation,
                            pack=pack.id,
                        )
