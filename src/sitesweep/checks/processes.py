"""Running processes against the packs and against the shape of this payload's child process.

Live scans only: under ``--root`` there are no processes, and each check says so (a ``live_only``
gap). Memory scanning with YARA (``--memory``) is not implemented here.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterator, List, Optional, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.persistence import BENIGN_HIDDEN_DIRS, INTERPRETER, suspicious_dir
from sitesweep.checks.pth_grader import Feature, grade_python_source
from sitesweep.host.model import ProcessInfo
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity
from sitesweep.packs.model import Pack

PROCESS_BENIGN_DIRS = BENIGN_HIDDEN_DIRS | frozenset(
    {".vscode-server", ".cursor-server", ".nvm", ".cargo", ".rustup", ".bun", ".deno", ".npm",
     ".sdkman", ".dotnet", ".volta", ".krew"}
)  # fmt: skip
"""Dot-directories from which developer tools normally run (kept out of the location check)."""

_NOT_LIVE = "processes are only visible on a live scan (not under --root or --image)"
_EXCERPT = 300


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}... ({len(text)} characters)"


def _command(proc: ProcessInfo) -> str:
    return " ".join(proc.cmdline) or proc.name


def _evidence(proc: ProcessInfo) -> List[Evidence]:
    return [
        Evidence("pid", str(proc.pid)),
        Evidence("ppid", str(proc.ppid)),
        Evidence("user", proc.user or "unknown"),
        Evidence("exe", proc.exe or "unreadable"),
        Evidence("cmdline", _excerpt(_command(proc))),
        Evidence("cwd", proc.cwd or "unreadable"),
    ]


def _paths(proc: ProcessInfo) -> Tuple[HostPath, ...]:
    """``/proc/<pid>`` first (names the process and keeps finding ids apart), then the exe."""
    return tuple(HostPath(p) for p in (f"/proc/{proc.pid}", proc.exe) if p)


class _LiveOnly(Check):
    live_only = True

    def skip_reason(self, ctx: CheckContext) -> Optional[str]:
        """Processes exist only on the running system."""
        return None if ctx.inventory.live else _NOT_LIVE


def _terms(pack: Pack) -> List[Tuple[str, re.Pattern[str]]]:
    """(label, pattern) for each path, file name and domain of ``pack`` seen in a command line."""
    terms: List[Tuple[str, re.Pattern[str]]] = []
    for ind in pack.persistence:
        text = ind.path[1:] if ind.path.startswith("~/") else ind.path
        terms.append((f"persistence path {ind.path}", re.compile(re.escape(text) + r"(?![\w.-])")))
    for file in pack.files:
        if file.name_is_indicator and file.name:
            pattern = r"(?<![\w.-])" + re.escape(file.name) + r"(?![\w.-])"
            terms.append((f"indicator file {file.name}", re.compile(pattern)))
    for domain in pack.network.domains:
        pattern = r"(?<![\w-])" + re.escape(domain) + r"(?![\w-])"
        terms.append((f"indicator domain {domain}", re.compile(pattern, re.IGNORECASE)))
    return terms


def _canonical_ip(text: str) -> str:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped or addr)


class ProcessIndicators(_LiveOnly):
    """A running process names a pack's indicator path, file or domain, or talks to its IPs."""

    id = "process/indicator"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (pack, process) with every indicator it matched."""
        for pack in ctx.packs.packs:
            terms = _terms(pack)
            ips = {_canonical_ip(ip) for ip in pack.network.ips}
            for proc in ctx.inventory.processes:
                texts = (_command(proc), proc.exe or "", proc.cwd or "")
                hits = [label for label, rx in terms if any(rx.search(t) for t in texts)]
                hits += [
                    f"connection to indicator IP {c.remote_ip}:{c.remote_port}"
                    for c in proc.connections
                    if _canonical_ip(c.remote_ip) in ips
                ]
                if hits:
                    yield self._finding(pack, proc, hits)

    @staticmethod
    def _finding(pack: Pack, proc: ProcessInfo, hits: List[str]) -> Finding:
        network = any("domain" in h or "IP" in h for h in hits)
        return Finding(
            rule=f"{pack.id}/process",
            severity=Severity.CRITICAL,
            category=Category.NETWORK if network else Category.PROCESS,
            title=f"process {proc.pid} ({proc.name}) matches {pack.id}: {hits[0]}",
            paths=_paths(proc),
            evidence=(*_evidence(proc), *(Evidence("matched", h) for h in hits)),
            remediation=pack.remediation,
            pack=pack.id,
        )


def inline_program(cmdline: Tuple[str, ...]) -> Optional[str]:
    """Return the ``-c`` program of a Python command line, or ``None``."""
    if not cmdline or not INTERPRETER.match(cmdline[0].rsplit("/", 1)[-1]):
        return None
    args = list(cmdline[1:])
    while args:
        arg = args.pop(0)
        if not arg.startswith("-") or arg in ("-", "--"):
            return None
        if arg.startswith("--"):
            continue
        for pos, flag in enumerate(arg[1:], 1):
            rest = arg[pos + 1 :]
            if flag == "c":
                return rest or (args[0] if args else None)
            if flag == "m":
                return None
            if flag in "WXQ":
                if not rest and args:
                    args.pop(0)
                break
    return None


class InlineDecodeExec(_LiveOnly):
    """A Python process runs an inline ``-c`` program that decodes data and executes it.

    This is the shape of the litellm child process (``exec(base64.b64decode('...'))``, matched by
    the Sigma rule in iocs.md 1.5) and of many droppers: high with no signature.
    """

    id = "process/inline-decode-exec"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per such process."""
        for proc in ctx.inventory.processes:
            program = inline_program(proc.cmdline)
            if program is None:
                continue
            grade = grade_python_source(program)
            if Feature.DECODE_EXEC not in grade.features:
                continue
            yield Finding(
                rule="heuristic/process-inline-decode-exec",
                severity=Severity.HIGH,
                category=Category.PROCESS,
                title=f"process {proc.pid} runs Python -c code that decodes and executes data",
                paths=_paths(proc),
                evidence=(*_evidence(proc), *(Evidence("reason", r) for r in grade.reasons)),
                remediation=(
                    "Capture the process (command line, parent, open files) before stopping it; "
                    "find what started it (ps -o ppid, systemctl status, crontab -l)."
                ),
            )


def _location_problem(path: str) -> Optional[str]:
    why = suspicious_dir(path, PROCESS_BENIGN_DIRS)
    return f"runs from {why}" if why else None


def _script(proc: ProcessInfo) -> Optional[str]:
    if len(proc.cmdline) < 2 or not INTERPRETER.match(proc.cmdline[0].rsplit("/", 1)[-1]):
        return None
    script = proc.cmdline[1]
    if script.startswith("-"):
        return None
    if not script.startswith("/") and proc.cwd:
        script = f"{proc.cwd.rstrip('/')}/{script}"
    return script


class SuspiciousLocation(_LiveOnly):
    """A process runs a deleted executable, or runs from a world-writable or hidden directory."""

    id = "process/suspicious-location"
    default_severity = Severity.MEDIUM

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per such process."""
        for proc in ctx.inventory.processes:
            why: List[str] = []
            if proc.exe_deleted:
                why.append("its executable was deleted from disk")
            for path in (proc.exe, _script(proc)):
                problem = _location_problem(path) if path else None
                if problem:
                    why.append(f"{path} {problem}")
            if not why:
                continue
            yield Finding(
                rule="heuristic/process-location",
                severity=Severity.MEDIUM,
                category=Category.PROCESS,
                title=f"process {proc.pid} ({proc.name}): {why[0]}",
                paths=_paths(proc),
                evidence=(*_evidence(proc), *(Evidence("why", w) for w in why)),
                remediation="Identify the process's owner and what started it.",
            )
