"""Developer-tool configuration graded by what it runs, with no pack.

AI-assistant hooks run at every session or tool call, MCP servers start with the assistant, a
``folderOpen`` task runs when a folder is opened, a git hook at every checkout: each is a place a
payload can plant itself for the next run. A command that downloads and runs code, decodes and
runs hidden code, opens a reverse shell, or runs something from a temporary or hidden directory
is high; reading credential files while sending data out is high too. Ordinary tooling
(``npx -y @scope/server``, ``prettier --write``, ``npm run watch``) stays low or below.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.persistence import (
    command_programs,
    is_public_index,
    writable_program,
)
from sitesweep.checks.pth_grader import HIGH_FEATURES, grade_python_source
from sitesweep.host.commandline import split_posix
from sitesweep.host.devtools import ConfigItem, ConfigKind, DevToolConfig, ItemKind
from sitesweep.model import Category, Evidence, Finding, Severity

FETCH = re.compile(
    r"\b(?:curl|wget|fetch|Invoke-WebRequest|Invoke-RestMethod|iwr|irm|certutil|bitsadmin|"
    r"urlopen|urlretrieve|requests\.get|https?\.get|aria2c)\b",
    re.IGNORECASE,
)
RUN_PIPE = re.compile(
    r"\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\|\s*(?:python[0-9.]*|node|bun|deno|perl|ruby|"
    r"pwsh|powershell|iex|Invoke-Expression|bash)\b|\bsh\s+-c\s+\"?\$\(|\beval\s+\"?\$\(|"
    r"\bsource\s+<\(|\bbash\s+<\(|\bchmod\s+\+?[0-7]*x\b|\bInvoke-Expression\b|\biex\b",
    re.IGNORECASE,
)
DECODE_RUN = re.compile(
    r"base64\s+(?:-d|--decode|-D)|FromBase64String|\batob\(|b64decode|xxd\s+-r|openssl\s+enc\s+-d",
    re.IGNORECASE,
)
REVERSE_SHELL = re.compile(
    r"/dev/tcp/|/dev/udp/|\bnc(?:at)?\s+(?:-[a-z]*e|\S+\s+\d+\s+-e)|\bbash\s+-i\b|"
    r"\bsocat\b.{0,40}exec|mkfifo",
    re.IGNORECASE,
)
CREDENTIALS = re.compile(
    r"\.ssh/|id_rsa|id_ed25519|\.aws/credentials|\.npmrc|\.pypirc|\.git-credentials|\.kube/config|"
    r"\.docker/config|\.netrc|\.env\b|GITHUB_TOKEN|NPM_TOKEN|AWS_SECRET|ANTHROPIC_API_KEY|"
    r"OPENAI_API_KEY|\bprintenv\b|\benv\s*\||Login Data|wallet",
    re.IGNORECASE,
)
SEND = re.compile(
    r"\bcurl\b[^|;&]{0,300}(?:\s-d\b|--data|\s-F\b|--form|-T\b|--upload-file|-X\s*POST)|"
    r"\bwget\b[^|;&]{0,300}--post|webhook|discord(?:app)?\.com/api|api\.telegram\.org|"
    r"\bnc\s+\S+\s+\d+|\bscp\s|\brsync\s",
    re.IGNORECASE,
)
INLINE_CODE = re.compile(r"^(?:python[0-9.]*|py|pypy[0-9.]*)$")

_REMEDIATION = (
    "Remove the entry (or the file) before the tool starts again, keep a copy, and check the "
    "repository's history for who added it; rotate credentials the command could read."
)


TOOL_DIRS = frozenset(
    {".claude", ".cursor", ".gemini", ".vscode", ".github", ".husky", ".git", ".devcontainer",
     ".idea"}
)  # fmt: skip
"""A tool's own dot-directories: its hooks and scripts live there (``.claude/hooks/x.sh``)."""


def grade_command(
    command: str, home: Optional[str] = None, cwd: Optional[str] = None
) -> Tuple[Severity, List[str]]:
    """Return how bad a command a tool runs is, and why."""
    why: List[str] = []
    severity = Severity.INFO
    fetch = FETCH.search(command)
    if fetch and RUN_PIPE.search(command):
        why.append(f"downloads and runs code ({fetch.group(0)} into an interpreter)")
    if DECODE_RUN.search(command) and (RUN_PIPE.search(command) or "exec" in command):
        why.append("decodes and runs hidden code")
    if REVERSE_SHELL.search(command):
        why.append("opens a shell to another host")
    creds = CREDENTIALS.search(command)
    if creds and (SEND.search(command) or fetch):
        why.append(f"reads {creds.group(0)} and sends data out")
    why += _inline_python(command)
    for path, script in command_programs(command, home, cwd):
        found = writable_program(path, script, TOOL_DIRS)
        if found and found[0] is Severity.HIGH:
            why.append(f"runs {found[1]}")
    if why:
        return Severity.HIGH, why
    if SEND.search(command):
        return Severity.MEDIUM, ["sends data to another host"]
    if creds:
        return Severity.MEDIUM, [f"reads {creds.group(0)}"]
    return severity, why


def _inline_python(command: str) -> List[str]:
    """Reasons from Python code given with ``-c`` (graded like startup code)."""
    words = split_posix(command)
    for index, word in enumerate(words[:-1]):
        base = word.rsplit("/", 1)[-1]
        if INLINE_CODE.match(base) and words[index + 1] == "-c" and index + 2 < len(words):
            grade = grade_python_source(words[index + 2])
            bad = [f for f in grade.features if f in HIGH_FEATURES]
            if bad:
                return [f"runs inline Python that shows {', '.join(map(str, bad))}"]
    return []


def grade_item(
    config: DevToolConfig, item: ConfigItem, home: Optional[str]
) -> Tuple[Severity, List[str]]:
    """Grade one entry of a configuration."""
    if item.kind is ItemKind.REGISTRY:
        if item.url and not _public_registry(config.kind, item.url):
            return Severity.MEDIUM, [f"package installs redirected to {item.url}"]
        return Severity.INFO, []
    severity: Severity = Severity.INFO
    why: List[str] = []
    project = config.path.rsplit("/", 2)[0]  # the folder holding .vscode/, .claude/ ...
    command = (item.command or "").replace("${workspaceFolder}", project)
    if item.command:
        severity, why = grade_command(command, home, project)
    if item.url and severity.rank < Severity.MEDIUM.rank and _raw_address(item.url):
        severity, why = Severity.MEDIUM, [f"connects to a bare address {item.url}"]
    if item.trigger == "folderOpen" and item.silent and severity.rank < Severity.HIGH.rank:
        scripts = command_programs(command, home, project)
        if any(script for _, script in scripts):
            return Severity.HIGH, ["runs a script silently whenever the folder is opened"]
        return Severity.MEDIUM, ["runs a command silently whenever the folder is opened"]
    automatic = item.kind in (ItemKind.HOOK, ItemKind.GIT_HOOK, ItemKind.STATUS_LINE) or (
        item.kind is ItemKind.TASK and item.trigger == "folderOpen"
    )
    if severity is Severity.INFO and automatic and item.command:
        return Severity.LOW, [f"runs a command automatically ({item.trigger or item.kind})"]
    return severity, why


def _public_registry(kind: ConfigKind, url: str) -> bool:
    if kind is ConfigKind.PIP_CONF:
        return is_public_index(url)
    return url.rstrip("/") in ("https://registry.npmjs.org", "https://registry.yarnpkg.com")


_ADDRESS = re.compile(r"^[a-z]+://(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:/|$)", re.IGNORECASE)
_LOCAL = re.compile(r"^[a-z]+://(?:127\.|localhost|\[::1\])", re.IGNORECASE)


def _raw_address(url: str) -> bool:
    return bool(_ADDRESS.match(url)) and not _LOCAL.match(url)


class DevToolConfigRuns(Check):
    """An AI-assistant hook, MCP server, folder-open task or git hook runs something that
    downloads and runs code, hides code, opens a shell, steals credentials or starts from a
    temporary or hidden directory; or a registry override sends installs elsewhere."""

    id = "config/devtools"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per configuration file with an entry graded low or above."""
        homes = sorted((u.home.rstrip("/") + "/" for u in ctx.inventory.users if u.home), key=len)
        known = {e.path for e in ctx.inventory.persistence}  # IndexRedirect judges those
        for config in ctx.inventory.devtool_configs:
            if config.path in known:
                continue
            home = next((h[:-1] for h in reversed(homes) if config.path.startswith(h)), None)
            graded = [(item, *grade_item(config, item, home)) for item in config.items]
            graded = [g for g in graded if g[1] is not Severity.INFO]
            if not graded:
                continue
            severity = max((g[1] for g in graded), key=lambda s: s.rank)
            worst = next(g for g in graded if g[1] is severity)
            what = f"{worst[0].kind} {worst[0].name!r}"
            reason = worst[2][0] if worst[2] else "runs a command"
            evidence: List[Evidence] = [Evidence("tool", str(config.kind))]
            for item, level, why in graded[:20]:
                label = f"{item.kind} {item.name} ({item.trigger or '-'})"
                evidence.append(Evidence(label, item.command or item.url or "-"))
                evidence += [Evidence("why", f"{level}: {w}") for w in why]
            evidence.append(Evidence("sha256", config.sha256))
            yield Finding(
                rule="heuristic/devtool-config",
                severity=severity,
                category=Category.CONFIG,
                title=f"{config.path}: {what} {reason}",
                paths=(config.path,),
                evidence=tuple(evidence),
                remediation=_REMEDIATION if severity.at_least(Severity.MEDIUM) else None,
            )
