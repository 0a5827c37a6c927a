"""Code that runs when installed packages are imported, and what their releases carry."""

from __future__ import annotations

from functools import partial
from typing import List

from sitesweep.collectors.base import CollectContext, Collected, Collector, guarded
from sitesweep.metadata.importtime import ImportTimeReader
from sitesweep.model import Gap
from sitesweep.osprofile.model import KNOWN_OSES


class ImportTimeCollector(Collector):
    """Import-time code of every site dir's packages and ``.pth`` targets; release shapes."""

    id = "import-time"
    oses = KNOWN_OSES
    observes = ("import_modules", "package_shapes")
    needs = ("environments", "distributions", "pth_files", "package_listings")
    apart = True
    summary = (
        "package __init__ files, what they and .pth lines import, read statically; native code, "
        "JavaScript and JS runtimes in pure-Python releases"
    )

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        observed = ctx.observed
        reader = ImportTimeReader(
            ctx.root,
            observed.distributions,
            observed.pth_files,
            listings=observed.package_listings,
        )
        for site in sorted({site for env in observed.environments for site in env.site_dirs}):
            guarded(self.id, site, gaps, partial(reader.site, site), None)
        found = reader.finish()
        values = {"import_modules": tuple(found.modules), "package_shapes": tuple(found.shapes)}
        return Collected(values, (*found.gaps, *gaps))
