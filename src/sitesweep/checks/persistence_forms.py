"""An incident's persistence in the forms of every OS: the name it poses under, running Python.

The litellm backdoor installs itself as a "System Telemetry Service" that runs a hidden Python
poller (``sysmon.py``). On Linux that is a systemd user unit, which the pack names by path; on
macOS the same service is a LaunchAgent, on Windows a Startup shortcut or script or a scheduled
task, whose file names the attacker chooses. What stays is the name it poses under (the job's
label, the task's name or description, the shortcut's comment, the file name) and that it runs
Python: both together are the incident's persistence, at the pack's severity.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Pattern, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.execution import persistence_paths
from sitesweep.checks.persistence import INTERPRETER, SCRIPT_SUFFIXES, entry_finding_id
from sitesweep.host.model import PersistenceEntry
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity
from sitesweep.osprofile.paths import display_path

MASQUERADES: Tuple[Tuple[str, str, Pattern[str], str], ...] = (
    (
        "litellm-2026-03",
        "telemetry-service",
        re.compile(r"telemetry|sysmon", re.IGNORECASE),
        'the TeamPCP backdoor posing as a "System Telemetry Service" (sysmon) that runs a hidden '
        "Python poller of checkmarx.zone (iocs.md 1.8), in its macOS or Windows form",
    ),
)
"""(pack id, indicator id, name pattern, what it is) for packs whose persistence poses under a
name. Kept here rather than in the pack format until a second incident needs it."""

_PYTHON_WORD = re.compile(r"(^|[\\/\s\"'])(python[0-9.]*w?|pythonw|py|pyw)(\.exe)?(\s|\"|'|$)|"
                          r"\.pyw?(\s|\"|'|$)", re.IGNORECASE)  # fmt: skip


def runs_python(entry: PersistenceEntry) -> bool:
    """Whether the entry starts a Python interpreter or a Python script."""
    for path in entry.programs:
        base = path.rsplit("/", 1)[-1].lower()
        name = base[:-4] if base.endswith(".exe") else base
        if base.endswith(SCRIPT_SUFFIXES) or INTERPRETER.match(name) or name in ("py", "pyw"):
            return True
    return any(_PYTHON_WORD.search(c) for c in entry.commands)


def posed_name(entry: PersistenceEntry, pattern: Pattern[str]) -> Optional[str]:
    """The entry's name, description or file name that matches ``pattern``."""
    base = entry.path.rsplit("/", 1)[-1]
    for text in (entry.label, entry.description, base):
        if text and pattern.search(text):
            return text
    return None


class PosingPersistence(Check):
    """A persistence entry poses under an incident's service name and runs Python."""

    id = "persistence/posing-service"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (pack, entry) posing under the pack's name."""
        for pack_id, indicator, pattern, what in MASQUERADES:
            pack = ctx.packs.get(pack_id)
            if pack is None:
                continue
            named = {  # already reported by path (persistence/pack-path)
                path
                for ind in pack.persistence
                for _scope, path in persistence_paths(ctx.inventory, ind.path)
            }
            for entry in ctx.inventory.persistence:
                if entry.context or entry.path in named:
                    continue
                name = posed_name(entry, pattern)
                if name is None or not runs_python(entry):
                    continue
                yield Finding(
                    rule=f"{pack.id}/persistence/{indicator}",
                    severity=Severity.CRITICAL,
                    category=Category.PERSISTENCE,
                    title=f"{pack.id} persistence: {entry.kind} "
                    f"{display_path(entry.path, ctx.inventory.os)} ({name}) runs Python",
                    paths=(HostPath(entry.path),),
                    evidence=(
                        Evidence("indicator", what),
                        Evidence("kind", str(entry.kind)),
                        Evidence("name", name),
                        Evidence("scope", entry.scope),
                        *(Evidence("registry key", k) for k in (entry.key,) if k),
                        *(Evidence("runs", c) for c in entry.commands),
                        *(Evidence("triggers", t) for t in entry.triggers),
                        Evidence("sha256", entry.sha256 or "-"),
                    ),
                    remediation=pack.remediation,
                    pack=pack.id,
                    id=entry_finding_id(f"{pack.id}/persistence/{indicator}", entry),
                )


SCRIPT_NAME_SUFFIXES = (".py", ".pyc", ".pyw", ".pyz", ".sh")
"""Pack persistence paths whose file name is looked for wherever an entry starts it."""


class PackScriptStarted(Check):
    """A persistence entry starts a script named as a pack's persistence script, elsewhere.

    The litellm poller is ``~/.config/sysmon/sysmon.py`` on Linux; on another OS, or moved, the
    same name started at log-in is high (the name alone, as a file, is too common to report).
    Entries that start the pack's exact path are reported by ``persistence/pack-path``.
    """

    id = "persistence/pack-script-name"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (pack indicator, entry) starting a script of that name."""
        for pack in ctx.packs.packs:
            for ind in pack.persistence:
                name = ind.path.rsplit("/", 1)[-1].lower()
                if not name.endswith(SCRIPT_NAME_SUFFIXES):
                    continue
                exact = {p.casefold() for _s, p in persistence_paths(ctx.inventory, ind.path)}
                for entry in ctx.inventory.persistence:
                    started = [
                        p
                        for p in entry.programs
                        if p.rsplit("/", 1)[-1].lower() == name and p.casefold() not in exact
                    ]
                    if entry.context or not started:
                        continue
                    rule = f"{pack.id}/persistence/{ind.id}-name"
                    yield Finding(
                        rule=rule,
                        severity=Severity.HIGH,
                        category=Category.PERSISTENCE,
                        title=f"{entry.kind} {display_path(entry.path, ctx.inventory.os)} "
                        f"starts {display_path(started[0], ctx.inventory.os)}, named as "
                        f"{pack.id}'s {ind.path}",
                        paths=(HostPath(entry.path),),
                        evidence=(
                            Evidence("indicator", ind.description),
                            Evidence("kind", str(entry.kind)),
                            *(Evidence("registry key", k) for k in (entry.key,) if k),
                            *(Evidence("name", n) for n in (entry.label,) if n),
                            *(Evidence("runs", c) for c in entry.commands),
                        ),
                        remediation=pack.remediation,
                        pack=pack.id,
                        id=entry_finding_id(rule, entry),
                    )
