"""Files staged in temporary directories (sentinels, second stages, exfiltration archives)."""

from __future__ import annotations

from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.host.staging import collect_staging
from sitesweep.osprofile.model import KNOWN_OSES


class StagingCollector(Collector):
    """The top level of every temporary directory: what each file is, archive member names."""

    id = "staging"
    oses = KNOWN_OSES
    observes = ("staged_files",)
    needs = ("users",)
    summary = "files in /tmp, /var/tmp, /dev/shm, macOS private/tmp and Windows Temp directories"

    def collect(self, ctx: CollectContext) -> Collected:
        homes = [u.home for u in ctx.observed.users]
        found, gaps = collect_staging(ctx.root, homes, ctx.spec.exclude)
        return Collected({"staged_files": found}, gaps)
