"""What runs and what would run again on the host: processes, persistence, credentials, history."""

from __future__ import annotations

from typing import List

from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.host.credentials import collect_credentials, is_variable_entry
from sitesweep.host.history import collect_history
from sitesweep.host.kubernetes import collect_cluster
from sitesweep.host.persistence import collect_persistence
from sitesweep.model import Gap
from sitesweep.osprofile.model import KNOWN_OSES, OsFamily


class ProcessesCollector(Collector):
    """Running processes (live scans only; a ``live_only`` gap under a root)."""

    id = "processes"
    oses = KNOWN_OSES
    observes = ("processes",)
    summary = "running processes, their command lines and connections (live scans only)"

    def collect(self, ctx: CollectContext) -> Collected:
        from sitesweep.host.processes import collect_processes  # psutil: only when collected

        gaps: List[Gap] = []
        processes = collect_processes(ctx.root, gaps, enabled=ctx.spec.live_processes)
        return Collected({"processes": processes}, tuple(gaps))


class PersistenceCollector(Collector):
    """Files at the persistence locations of the host's OS, system-wide and per home."""

    id = "persistence"
    oses = KNOWN_OSES
    observes = ("persistence",)
    needs = ("users",)
    summary = (
        "systemd, cron, shell start-up, launchd, login items, Startup folders, scheduled tasks, "
        "PowerShell profiles, index configs and the packs' paths"
    )

    def collect(self, ctx: CollectContext) -> Collected:
        spec = ctx.spec
        variables = frozenset(c for c in spec.credentials if is_variable_entry(c))
        found, gaps = collect_persistence(
            ctx.root,
            ctx.observed.users,
            spec.persistence_paths,
            variables,
            spec.hash_limit,
            os_name=None if ctx.os is OsFamily.UNKNOWN else ctx.os.value,
        )
        return Collected({"persistence": found}, gaps)


class CredentialsCollector(Collector):
    """Secrets a payload steals that exist on the host (named, never read)."""

    id = "credentials"
    oses = KNOWN_OSES
    observes = ("credentials",)
    needs = ("users", "persistence")
    summary = (
        "the packs' credential files, directories and variable assignments, in each OS's own "
        "places, and the OS's credential stores (keychains, Credential Manager), by name"
    )

    def collect(self, ctx: CollectContext) -> Collected:
        found, gaps = collect_credentials(
            ctx.root,
            ctx.observed.users,
            ctx.spec.credentials,
            ctx.observed.persistence,
            ctx.spec.exclude,
            os_name=None if ctx.os is OsFamily.UNKNOWN else ctx.os.value,
        )
        return Collected({"credentials": found}, gaps)


class HistoryCollector(Collector):
    """Shell-history lines that ran a Python package installer."""

    id = "history"
    oses = KNOWN_OSES
    observes = ("history_installs",)
    needs = ("users",)
    summary = "pip/uv/poetry installs in every home's shell history (redacted)"

    def collect(self, ctx: CollectContext) -> Collected:
        found, gaps = collect_history(ctx.root, ctx.observed.users)
        return Collected({"history_installs": found}, gaps)


class ClusterCollector(Collector):
    """The cluster's pods, as the local ``kubectl`` lists them (asked for, live only)."""

    id = "cluster"
    oses = KNOWN_OSES
    observes = ("cluster_pods",)
    summary = "kubectl get pods (--kubernetes, live scans only)"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        pods = collect_cluster(ctx.root, ctx.spec.kubernetes, gaps)
        return Collected({"cluster_pods": pods}, tuple(gaps))
