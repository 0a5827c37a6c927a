"""The sitesweep side of the benchmark, run by ``bench/run.py`` as a child process.

Each subcommand does one measured thing, so the parent can read the child's CPU time and peak
RSS from ``os.wait4``. It prints one JSON line of facts (counts, in-loop times).

    child.py prep ROOT WORKDIR    # untimed: site dirs, YARA candidates, a small inventory pickle
    child.py walk ROOT            # the walk alone (what discovery lists, nothing read)
    child.py inventory ROOT       # discovery + inventory (run_collect, no bundle)
    child.py scan ROOT            # the full scan (run_scan, no bundle)
    child.py yara WORKDIR ROOT    # sitesweep's YARA pass over the prepared candidates
    child.py stdlib SITES_FILE    # importlib.metadata.distributions(path=...) names and versions
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path


def _opts(root: str, **extra: object):  # type: ignore[no-untyped-def]
    from sitesweep.pipeline import ScanOptions

    return ScanOptions(root=Path(root), output=None, **extra)  # type: ignore[arg-type]


def prep(root: str, work: str) -> dict:
    """Collect once, write the site dirs, the YARA candidate list and a reduced inventory."""
    from sitesweep.candidates import pack_distribution_names, yara_candidates
    from sitesweep.pipeline import run_collect

    outcome = run_collect(_opts(root))
    inv, packs = outcome.result.inventory, outcome.result.packs
    out = Path(work)
    out.mkdir(parents=True, exist_ok=True)
    sites = sorted({s for env in inv.environments for s in env.site_dirs})
    real_sites = [root.rstrip("/") + s for s in sites]
    (out / "sites.txt").write_text("".join(s + "\n" for s in real_sites))
    candidates = yara_candidates(inv, packs)
    real = [root.rstrip("/") + p for p in candidates]
    (out / "candidates.txt").write_text("".join(p + "\n" for p in real))
    names = pack_distribution_names(packs)
    small = dataclasses.replace(
        inv,
        distributions=tuple(d for d in inv.distributions if d.name in names),
        record_checks=(),
        cached_artifacts=(),
        lockfiles=(),
    )
    (out / "yara-inventory.pickle").write_bytes(pickle.dumps(small))
    size = sum(Path(p).stat().st_size for p in real if Path(p).is_file())
    return {
        "environments": len(inv.environments),
        "distributions": len(inv.distributions),
        "sites": len(sites),
        "files_seen": inv.files_seen,
        "dirs_walked": inv.dirs_walked,
        "yara_candidates": len(candidates),
        "yara_bytes": size,
    }


def walk(root: str) -> dict:
    """The walk alone, as discovery runs it (the collector's WalkSpec), nothing classified."""
    from sitesweep.discovery.classify import PACKAGE_DIR_NAMES
    from sitesweep.discovery.walk import WalkSpec
    from sitesweep.discovery.walk import walk as run_walk
    from sitesweep.host.devtools import DEVTOOL_NAMES
    from sitesweep.hostfs import HostRoot
    from sitesweep.metadata.importtime import SHAPE_DEPTH, maybe_carried
    from sitesweep.metadata.lockfiles import LOCKFILE_NAMES

    spec = WalkSpec(
        lockfile_names=LOCKFILE_NAMES,
        requirements=True,
        config_names=DEVTOOL_NAMES,
        package_dir_names=PACKAGE_DIR_NAMES,
        listing_depth=SHAPE_DEPTH,
        listing_filter=maybe_carried,
    )
    started = time.perf_counter()
    found = run_walk(HostRoot(Path(root)), spec)
    return {
        "dirs": found.dirs,
        "files": found.files,
        "site_dirs": len(found.site_dirs),
        "listings_kept": len(found.package_listings),
        "walk_seconds": time.perf_counter() - started,
    }


def inventory(root: str) -> dict:
    """Discovery + inventory, as ``sitesweep collect`` does it, without writing a bundle."""
    from sitesweep.pipeline import run_collect

    inv = run_collect(_opts(root)).result.inventory
    return {"distributions": len(inv.distributions), "files_seen": inv.files_seen}


def scan(root: str) -> dict:
    """The full scan (every check: packs, .pth grading, RECORD of targets, YARA), no bundle."""
    from sitesweep.model import Severity
    from sitesweep.pipeline import run_scan

    result = run_scan(_opts(root)).result
    return {"findings": len(result.findings), "critical": len(result.at_least(Severity.CRITICAL))}


def yara_pass(work: str, root: str) -> dict:
    """sitesweep's YARA check over the candidates of the prepared inventory."""
    from sitesweep.checks.base import CheckContext
    from sitesweep.checks.yara import YaraRules
    from sitesweep.content import HostContent
    from sitesweep.hostfs import HostRoot
    from sitesweep.packs import load_packs
    from sitesweep.packs.yararules import YaraLimits

    packs = load_packs((), builtin=True)
    inv = pickle.loads(Path(work, "yara-inventory.pickle").read_bytes())  # noqa: S301 - ours
    ctx = CheckContext(inv, packs, HostContent(HostRoot(Path(root))), YaraLimits())
    started = time.perf_counter()
    findings = list(YaraRules().run(ctx))
    return {"findings": len(findings), "match_seconds": time.perf_counter() - started}


def stdlib(sites_file: str) -> dict:
    """What a responder gets from the standard library: every distribution's name and version."""
    import importlib.metadata as md

    paths = Path(sites_file).read_text().split()
    count = 0
    for dist in md.distributions(path=paths):
        _ = (dist.metadata["Name"], dist.version)
        count += 1
    return {"distributions": count}


def main() -> int:
    """Dispatch one subcommand and print its facts as JSON."""
    command, *args = sys.argv[1:]
    facts = {
        "prep": prep,
        "walk": walk,
        "inventory": inventory,
        "scan": scan,
        "yara": yara_pass,
    }.get(command)
    result = stdlib(*args) if command == "stdlib" else facts(*args)  # type: ignore[misc]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
