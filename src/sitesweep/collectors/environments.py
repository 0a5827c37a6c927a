"""Python environments and what is installed in them: the walk, site dirs, RECORD, caches, locks."""

from __future__ import annotations

from functools import partial
from typing import List, Set

from sitesweep.collectors.base import CollectContext, Collected, Collector, guarded
from sitesweep.discovery import EnvKind, PythonEnv, WalkSpec, discover
from sitesweep.discovery.classify import PACKAGE_DIR_NAMES
from sitesweep.host.devtools import DEVTOOL_NAMES
from sitesweep.metadata import SiteInventory, hash_file, read_site
from sitesweep.metadata.caches import collect_caches
from sitesweep.metadata.distinfo import sharing_record_rows
from sitesweep.metadata.importtime import SHAPE_DEPTH, maybe_carried
from sitesweep.metadata.integrity import verify_records
from sitesweep.metadata.lockfiles import LOCKFILE_NAMES, LockFile, read_lockfiles
from sitesweep.metadata.model import Distribution, HostFile, PthFile, StartupHook
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.osprofile.model import KNOWN_OSES
from sitesweep.osprofile.profiles import profile_for


class WalkCollector(Collector):
    """One walk of the tree: environments, and the files named by the packs or by lockfile tools."""

    id = "discovery"
    oses = KNOWN_OSES
    observes = (
        "environments",
        "named_paths",
        "lockfile_paths",
        "devtool_paths",
        "dirs_walked",
        "files_seen",
        "package_listings",
    )
    needs = ("users",)
    stage = "discover"
    summary = "one walk of the whole tree: Python environments, indicator file names, lockfiles"

    def collect(self, ctx: CollectContext) -> Collected:
        spec = ctx.spec
        skip = profile_for(ctx.os).live_skip if ctx.root.is_live else ()
        walk_spec = WalkSpec(
            spec.names,
            (*spec.exclude, *skip),
            spec.fs_policy,
            LOCKFILE_NAMES,
            True,
            prune=spec.prune,
            config_names=DEVTOOL_NAMES,
            package_dir_names=PACKAGE_DIR_NAMES,
            listing_depth=SHAPE_DEPTH,
            listing_filter=maybe_carried,
            whole_listing_names=frozenset() if spec.verify_record else spec.verify_targets,
        )
        found = discover(ctx.root, walk_spec, ctx.observed.users, ctx.progress)
        values = {
            "environments": found.environments,
            "named_paths": found.named_files,
            "lockfile_paths": found.lockfiles,
            "devtool_paths": found.config_files,
            "dirs_walked": found.dirs_walked,
            "files_seen": found.files_seen,
            "package_listings": found.package_listings,
        }
        skipped = tuple(
            Gap(
                self.id,
                HostPath(p),
                GapReason.PRUNED,
                "system volume of the running Mac: not walked",
            )
            for p in skip
        )
        return Collected(values, (*found.gaps, *skipped))


class SiteDirsCollector(Collector):
    """Every site dir of every environment, read statically."""

    id = "site-dirs"
    oses = KNOWN_OSES
    observes = ("distributions", "pth_files", "startup_hooks", "files")
    needs = ("environments",)
    stage = "inventory"
    summary = "distributions, .pth files, startup hooks and indicator paths in every site dir"

    def collect(self, ctx: CollectContext) -> Collected:
        spec = ctx.spec
        gaps: List[Gap] = []
        dists: List[Distribution] = []
        pths: List[PthFile] = []
        hooks: List[StartupHook] = []
        files: List[HostFile] = []
        envs = ctx.observed.environments
        sites = sorted({site for env in envs for site in env.site_dirs})
        record_names = None if spec.verify_record else spec.verify_targets
        empty = SiteInventory()
        with sharing_record_rows():  # the RECORDs of one wheel's installs share their rows
            for count, site in enumerate(sites, 1):
                read = partial(
                    read_site, ctx.root, site, spec.site_paths, spec.hash_limit, record_names
                )
                inv = guarded(self.id, site, gaps, read, empty)
                dists += inv.distributions
                pths += inv.pth_files
                hooks += inv.startup_hooks
                files += inv.files
                gaps += inv.gaps
                ctx.progress.advance(count, site)
        values = {
            "distributions": tuple(dists),
            "pth_files": tuple(pths),
            "startup_hooks": tuple(hooks),
            "files": tuple(files),
        }
        return Collected(values, tuple(gaps))


class NamedFilesCollector(Collector):
    """Files the packs name, wherever the walk met them, hashed."""

    id = "named-files"
    oses = KNOWN_OSES
    observes = ("files",)
    needs = ("named_paths", "files")
    summary = "hashes of the files named by the packs' indicator file names"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        seen: Set[str] = {f.path for f in ctx.observed.files}
        found: List[HostFile] = []
        for path in ctx.observed.named_paths:
            if path not in seen:
                file = hash_file(ctx.root, path, ctx.spec.hash_limit, gaps)
                if file is not None:
                    found.append(file)
                    seen.add(HostPath(path))
        return Collected({"files": tuple(found)}, tuple(gaps))


class RecordCollector(Collector):
    """RECORD verification of the targeted (or, asked, all) distributions."""

    id = "record"
    oses = KNOWN_OSES
    observes = ("record_checks",)
    needs = ("distributions", "environments", "package_listings")
    summary = "RECORD rows checked against the files installed"

    def collect(self, ctx: CollectContext) -> Collected:
        spec = ctx.spec
        gaps: List[Gap] = []
        envs = ctx.observed.environments
        prefixes = {site: env.prefix for env in envs for site in env.site_dirs}
        records = verify_records(
            ctx.root,
            ctx.observed.distributions,
            prefixes,
            spec.verify_targets,
            spec.verify_record,
            spec.hash_limit,
            gaps,
            ctx.observed.package_listings,
        )
        return Collected({"record_checks": records}, tuple(gaps))


class CachesCollector(Collector):
    """Wheels and sdists in the package managers' caches."""

    id = "caches"
    oses = KNOWN_OSES
    observes = ("cached_artifacts",)
    needs = ("environments", "users")
    summary = "wheels and sdists in pip, uv, poetry and conda caches"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        bases = [e.prefix for e in ctx.observed.environments if _is_conda_base(e)]
        homes = [u.home for u in ctx.observed.users]
        cached = collect_caches(ctx.root, homes, bases, ctx.spec.hash_limit, gaps)
        return Collected({"cached_artifacts": cached}, tuple(gaps))


class LockfilesCollector(Collector):
    """Lockfiles and requirement files, and what they pin."""

    id = "lockfiles"
    oses = KNOWN_OSES
    observes = ("lockfiles",)
    needs = ("lockfile_paths",)
    summary = "lockfiles and requirement files the walk met, and what they pin"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        locks: List[LockFile] = []
        for path in sorted(set(ctx.observed.lockfile_paths)):
            read = partial(read_lockfiles, ctx.root, (path,), gaps)
            locks += guarded(self.id, path, gaps, read, ())
        return Collected({"lockfiles": tuple(locks)}, tuple(gaps))


def _is_conda_base(env: PythonEnv) -> bool:
    return env.kind is EnvKind.CONDA and "/envs/" not in env.prefix
