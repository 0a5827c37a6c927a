"""Developer-tool configuration that runs code (AI assistants, MCP, editors, git, registries)."""

from __future__ import annotations

from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.host.devtools import collect_devtools
from sitesweep.osprofile.model import KNOWN_OSES


class DevToolsCollector(Collector):
    """AI-assistant hooks, MCP servers, folder-open tasks, git hooks and registry overrides."""

    id = "devtools"
    oses = KNOWN_OSES
    observes = ("devtool_configs",)
    needs = ("devtool_paths",)
    summary = (
        ".claude/.cursor/.gemini settings and hooks, MCP server lists, .vscode/tasks.json, git "
        "hooks, .npmrc and pip.conf in every home and project tree the walk passes"
    )

    def collect(self, ctx: CollectContext) -> Collected:
        found, gaps = collect_devtools(ctx.root, ctx.observed.devtool_paths)
        return Collected({"devtool_configs": found}, gaps)
