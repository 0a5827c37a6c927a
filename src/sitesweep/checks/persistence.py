"""Persistence entries against the packs: named paths, Python from hidden dirs, index redirects.

Ordinary entries (distribution units, a default ``.bashrc``) produce no finding: they are in the
inventory and the bundle, and only what deviates is reported.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from typing import Dict, FrozenSet, Iterator, List, Optional, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.execution import pack_in_use, persistence_paths
from sitesweep.host.commandline import INTERPRETERS, posix_host_path, split_posix
from sitesweep.host.commandline import SCRIPT_SUFFIXES as ANY_SCRIPT_SUFFIXES
from sitesweep.host.model import PersistenceEntry
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity
from sitesweep.osprofile.model import OsInfo
from sitesweep.osprofile.paths import display_path
from sitesweep.packs.model import Pack, PersistenceIndicator

PUBLIC_INDEXES: Tuple[str, ...] = (
    "https://pypi.org/simple",
    "https://files.pythonhosted.org/",
)
"""Index URLs that are the public index itself (prefix match, trailing slash ignored)."""

ENABLE_DIR = re.compile(r"\.(wants|requires|upholds)$")
"""systemd directories whose links enable a unit (``default.target.wants/sysmon.service``)."""

INTERPRETER = re.compile(r"^(python[0-9.]*[a-z]?|pypy[0-9.]*)$")
SCRIPT_SUFFIXES = (".py", ".pyc", ".pyz", ".pyw")

BENIGN_HIDDEN_DIRS = frozenset(
    {".venv", ".virtualenvs", ".pyenv", ".local", ".conda", ".tox", ".nox", ".cache", ".asdf"}
)
"""Dot-directories that normally hold interpreters and their environments."""

# Paths matched against, never used as temporary files:
WRITABLE_DIRS: Tuple[str, ...] = (
    "/tmp/", "/var/tmp/", "/dev/shm/", "/private/tmp/", "/private/var/tmp/",  # noqa: S108
    "/Windows/Temp/", "/Users/Public/",
)  # fmt: skip
"""World-writable directories: nothing should be launched from them."""

TEMP_DIRS = re.compile(r"^(/private)?/var/folders/|/AppData/Local/Temp/", re.IGNORECASE)
"""Per-user temporary directories (macOS ``$TMPDIR``, Windows ``%TEMP%``)."""


def suspicious_dir(path: str, allow: FrozenSet[str]) -> Optional[str]:
    """Name why ``path``'s directory is suspicious: a world-writable, temporary or hidden one."""
    for prefix in WRITABLE_DIRS:
        if path.startswith(prefix):
            return f"world-writable directory {prefix}"
    temp = TEMP_DIRS.search(path)
    if temp:
        return f"temporary directory {temp.group(0)}"
    for part in path.split("/")[:-1]:
        if part.startswith(".") and part not in (".", "..") and part not in allow:
            return f"hidden directory {part}"
    return None


def _tokens(command: str) -> List[str]:
    value = command.split("=", 1)[1] if re.match(r"^Exec\w*=", command) else command
    try:
        words = shlex.split(value, comments=False)
    except ValueError:
        words = value.split()
    return [w.lstrip("-@+!:") if i == 0 else w for i, w in enumerate(words)]


def python_from_hidden_dir(command: str) -> Optional[str]:
    """Return why ``command`` launches Python from a hidden, config or world-writable directory."""
    words = _tokens(command)
    for word in words:
        base = word.rsplit("/", 1)[-1]
        if word.endswith(SCRIPT_SUFFIXES) and "/" in word:
            why = suspicious_dir(word, frozenset())
            if why:
                return f"Python script {word} in a {why}"
        if INTERPRETER.match(base) and "/" in word:
            why = suspicious_dir(word, BENIGN_HIDDEN_DIRS)
            if why:
                return f"Python interpreter {word} in a {why}"
    return None


def program_from_hidden_dir(path: str) -> Optional[str]:
    """Return why a program host path is Python (or a Python script) in a suspicious directory."""
    base = path.rsplit("/", 1)[-1]
    if base.lower().endswith(SCRIPT_SUFFIXES):
        why = suspicious_dir(path, frozenset())
        return f"Python script {path} in a {why}" if why else None
    name = base[:-4] if base.lower().endswith(".exe") else base
    if INTERPRETER.match(name.lower()):
        why = suspicious_dir(path, BENIGN_HIDDEN_DIRS)
        return f"Python interpreter {path} in a {why}" if why else None
    return None


def _runs(entry: PersistenceEntry, path: str) -> bool:
    """Whether ``entry`` runs the host path ``path`` (case folded: Windows paths)."""
    folded = path.casefold()
    return any(p.casefold() == folded for p in entry.programs)


def _same_unit(entry: PersistenceEntry, path: str) -> bool:
    """Whether ``entry`` is an enabling link of the unit at ``path`` (same directory tree)."""
    unit_dir, _, unit = path.rpartition("/")
    link_dir, _, name = entry.path.rpartition("/")
    parent, _, wants = link_dir.rpartition("/")
    return name == unit and parent == unit_dir and bool(ENABLE_DIR.search(wants))


def entry_finding_id(rule: str, entry: PersistenceEntry) -> str:
    """A finding id for one entry: the default (rule and path) unless the entry is one value of a
    registry hive, whose values share the hive's path (then the key and value name count too)."""
    if not entry.key:
        return ""
    key = "\0".join((rule, entry.path, entry.key, entry.label or ""))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _evidence(entry: PersistenceEntry) -> List[Evidence]:
    items = [Evidence("kind", str(entry.kind)), Evidence("sha256", entry.sha256 or "-")]
    if entry.link_target:
        items.append(Evidence("link target", entry.link_target))
    if entry.key:
        items.append(Evidence("registry key", entry.key))
    if entry.label:
        items.append(Evidence("name", entry.label))
    items += [Evidence("runs", c) for c in entry.commands]
    return items


class PackPersistencePaths(Check):
    """A persistence artefact a pack names is present (the unit, its script, its enabling link)."""

    id = "persistence/pack-path"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (pack indicator, home) with every matching file."""
        entries = ctx.inventory.persistence
        for pack in ctx.packs.packs:
            for ind in pack.persistence:
                for scope, path in persistence_paths(ctx.inventory, ind.path):
                    hits = [
                        e
                        for e in entries
                        if e.path == path or _same_unit(e, path) or _runs(e, path)
                    ]
                    if hits:
                        yield self._finding(pack, ind, scope, hits, ctx.inventory.os)

    @staticmethod
    def _finding(
        pack: Pack,
        ind: PersistenceIndicator,
        scope: str,
        hits: List[PersistenceEntry],
        os: OsInfo,
    ) -> Finding:
        evidence = [Evidence("indicator", ind.description), Evidence("scope", scope)]
        for hit in hits:
            evidence += _evidence(hit)
        return Finding(
            rule=f"{pack.id}/persistence/{ind.id}",
            severity=ind.severity,
            category=Category.PERSISTENCE,
            title=f"{pack.id} persistence present: "
            f"{', '.join(display_path(h.path, os) for h in hits)}",
            paths=tuple(HostPath(h.path) for h in hits),
            evidence=tuple(evidence),
            remediation=pack.remediation,
            pack=pack.id,
        )


class PythonFromHiddenDir(Check):
    """A persistence entry launches Python from a hidden, config or world-writable directory.

    The litellm backdoor runs ``~/.config/sysmon/sysmon.py`` from a user unit; nothing a
    distribution ships starts a script from a dot-directory or ``/tmp``. High with no signature.
    """

    id = "persistence/python-hidden-dir"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding per entry with such a command."""
        for entry in ctx.inventory.persistence:
            if entry.context:
                continue
            reasons = [(c, python_from_hidden_dir(c)) for c in entry.commands]
            hits = [(c, why) for c, why in reasons if why]
            if not hits:  # macOS and Windows entries: the programs their commands name
                os = ctx.inventory.os
                reasons = [(p, program_from_hidden_dir(p)) for p in entry.programs]
                hits = [
                    (display_path(c, os), why.replace(c, display_path(c, os)))
                    for c, why in reasons
                    if why
                ]
            if not hits:
                continue
            yield Finding(
                rule="heuristic/persistence-python-hidden-dir",
                severity=Severity.HIGH,
                category=Category.PERSISTENCE,
                title=f"{entry.kind} entry {display_path(entry.path, ctx.inventory.os)} "
                f"starts {hits[0][1]}",
                paths=(entry.path,),
                evidence=(
                    *(Evidence("command", c) for c, _ in hits),
                    *(Evidence("why", str(why)) for _, why in hits),
                    *(Evidence("registry key", k) for k in (entry.key,) if k),
                    *(Evidence("name", n) for n in (entry.label,) if n),
                    Evidence("sha256", entry.sha256 or "-"),
                ),
                remediation="Read the entry and what it runs; disable it if nobody owns it.",
                id=entry_finding_id("heuristic/persistence-python-hidden-dir", entry),
            )


TOOL_HIDDEN_DIRS = (BENIGN_HIDDEN_DIRS - {".cache"}) | frozenset(
    {".cargo", ".rustup", ".nvm", ".volta", ".deno", ".bun", ".sdkman", ".rbenv", ".goenv",
     ".nodenv", ".dotnet", ".linuxbrew", ".krew", ".npm-global", ".juliaup", ".ghcup"}
)  # fmt: skip
"""Dot-directories where version managers install programs that units and profiles run (not
``.cache``: nothing should be started from a cache)."""
USER_BIN = re.compile(r"^(?:/home/[^/]+|/root|/Users/[^/]+|/var/home/[^/]+)/(?:\.local/)?bin/")
"""A user's own ``bin`` directory (``~/.local/bin``, ``~/bin``): writable by that user."""
_EXEC_PREFIX = re.compile(r"^(?:Exec\w*=|[A-Za-z]*Exec=)")


def _homes(ctx: CheckContext) -> Dict[str, str]:
    return {u.name: u.home for u in ctx.inventory.users}


_USER_CRONTAB = re.compile(r"^/var/spool/cron/(?:crontabs/|tabs/)?([^/]+)$")


def _crontab_home(path: str, homes: Dict[str, str]) -> Optional[str]:
    """The home of the user a spool crontab belongs to (its file name), if known."""
    match = _USER_CRONTAB.match(path)
    return homes.get(match.group(1)) if match else None


_SEPARATORS = frozenset({"|", "||", "&&", ";", "&"})
_WRAPPERS = frozenset(
    {"nohup", "sudo", "exec", "env", "setsid", "nice", "ionice", "command", "then", "do", "else"}
)
"""Words that run the next word (and shell keywords that start a command)."""


def _segments(words: List[str]) -> List[List[str]]:
    """Split words into simple commands at ``|``, ``&&``, ``;`` (also glued to a word)."""
    out: List[List[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            out.append([])
            continue
        glued = word.endswith(";") and len(word) > 1
        out[-1].append(word.rstrip(";") if glued else word)
        if glued:
            out.append([])
    return [seg for seg in out if seg]


def command_programs(
    command: str, home: Optional[str], cwd: Optional[str] = None
) -> List[Tuple[str, bool]]:
    """Host paths a command runs (each simple command's program, the script an interpreter is
    given, words named like scripts), each with whether it is a script. systemd's ``%h`` and
    the ``-@+!:`` prefixes of ``Exec*=`` are understood; arguments such as ``/dev/null`` are
    not programs. Relative paths are taken from ``cwd`` when given (an editor task's folder)."""
    value = _EXEC_PREFIX.sub("", command.strip())
    words = [w.replace("%h/", "~/") for w in split_posix(value)]
    if words:
        words[0] = words[0].lstrip("-@+!:")
    found: List[Tuple[str, bool]] = []
    for segment in _segments(words):
        rest = [w for w in segment if "=" not in w.split("/", 1)[0]] or segment
        while len(rest) > 1 and rest[0] in _WRAPPERS:
            rest = rest[1:]
        chosen: List[Tuple[str, bool]] = []
        program = rest[0]
        base = program.rsplit("/", 1)[-1]
        if INTERPRETERS.match(base):
            given = next((w for w in rest[1:] if not w.startswith("-")), None)
            if given is not None:
                chosen.append((given, True))
        else:
            chosen.append((program, base.lower().endswith(ANY_SCRIPT_SUFFIXES)))
        chosen += [(w, True) for w in rest[1:] if w.lower().endswith(ANY_SCRIPT_SUFFIXES)]
        for word, is_script in chosen:
            relative = cwd and not word.startswith(("/", "~", "$", "-")) and "/" in word
            path = posix_host_path(f"{cwd}/{word}" if relative else word, home)
            if path is not None and "$" not in path and (path, is_script) not in found:
                found.append((path, is_script))
    return found


def writable_program(
    path: str, script: bool, allow: FrozenSet[str] = frozenset()
) -> Optional[Tuple[Severity, str]]:
    """How bad it is that an automatic entry runs ``path``: from a temporary, world-writable or
    hidden directory, or from a user's own ``bin`` (which that user, or anything running as
    them, can rewrite): high. ``allow`` adds dot-directories that are expected (a tool's own)."""
    what = "script" if script else "program"
    why = suspicious_dir(path, TOOL_HIDDEN_DIRS | allow)
    if why:
        return Severity.HIGH, f"{what} {path} in a {why}"
    if USER_BIN.match(path):
        return Severity.HIGH, f"{what} {path} in a user-writable bin directory"
    return None


class RunsFromWritableDir(Check):
    """A persistence entry runs a program or script, in any language, from a temporary, hidden
    or user-writable ``bin`` directory (a user unit starting ``~/.local/bin/x.sh``, a LaunchAgent
    or Run key starting something in ``%TEMP%``).

    Python launched that way is :class:`PythonFromHiddenDir`'s; this check covers the rest.
    """

    id = "persistence/runs-from-writable-dir"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding per entry with such a program."""
        homes = _homes(ctx)
        for entry in ctx.inventory.persistence:
            if entry.context:
                continue
            if any(python_from_hidden_dir(c) for c in entry.commands) or any(
                program_from_hidden_dir(p) for p in entry.programs
            ):
                continue  # reported by PythonFromHiddenDir
            home = homes.get(entry.scope) or _crontab_home(entry.path, homes)
            candidates = [(str(p), p.lower().endswith(ANY_SCRIPT_SUFFIXES)) for p in entry.programs]
            for command in entry.commands:
                candidates += command_programs(command, home)
            hits = [hit for p, script in candidates if (hit := writable_program(p, script))]
            if not hits:
                continue
            severity = max((h[0] for h in hits), key=lambda s: s.rank)
            yield Finding(
                rule="heuristic/persistence-writable-dir",
                severity=severity,
                category=Category.PERSISTENCE,
                title=f"{entry.kind} entry {entry.path} runs {hits[0][1]}",
                paths=(entry.path,),
                evidence=(
                    *(Evidence("why", why) for _, why in hits),
                    *(Evidence("command", c) for c in entry.commands),
                    Evidence("sha256", entry.sha256 or "-"),
                ),
                remediation="Read the entry and what it runs; disable it if nobody owns it.",
            )


class ModifiedInWindow(Check):
    """A persistence entry was modified inside the incident window of a pack that concerns the host.

    A pack concerns the host when its payload shows signs of having run or an affected project is
    installed (:func:`sitesweep.checks.execution.pack_in_use`).
    """

    id = "persistence/modified-in-window"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding per entry modified inside a concerning pack's window."""
        for pack in ctx.packs.packs:
            if pack.window_start is None or pack.window_end is None:
                continue
            if not pack_in_use(ctx.inventory, pack):
                continue
            start, end = pack.window_start, pack.window_end
            for entry in ctx.inventory.persistence:
                if start.timestamp() <= entry.mtime <= end.timestamp():
                    yield Finding(
                        rule=f"{pack.id}/persistence-in-window",
                        severity=Severity.HIGH,
                        category=Category.PERSISTENCE,
                        title=f"{entry.path} was modified during the {pack.id} incident window",
                        paths=(entry.path,),
                        evidence=(
                            Evidence("window", f"{start.isoformat()} .. {end.isoformat()}"),
                            *_evidence(entry),
                        ),
                        remediation=pack.remediation,
                        pack=pack.id,
                        id=entry_finding_id(f"{pack.id}/persistence-in-window", entry),
                    )


def is_public_index(url: str) -> bool:
    """Whether ``url`` is the public PyPI index (or its file host)."""
    text = url.rstrip("/")
    return any(
        text == p.rstrip("/") or text.startswith(p.rstrip("/") + "/") for p in PUBLIC_INDEXES
    )


class IndexRedirect(Check):
    """Package-index configuration points pip or uv at an index other than PyPI.

    A redirected index makes every future install come from that host. It may be a legitimate
    internal mirror; a responder should confirm who set it up (medium).
    """

    id = "persistence/index-url"
    default_severity = Severity.MEDIUM

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per entry configuring a non-public index."""
        for entry in ctx.inventory.persistence:
            other = [u for u in entry.index_urls if not is_public_index(u)]
            if not other:
                continue
            by_url: Dict[str, None] = dict.fromkeys(other)
            yield Finding(
                rule="heuristic/index-url",
                severity=Severity.MEDIUM,
                category=Category.CONFIG,
                title=f"{entry.path} points package installs at {', '.join(by_url)}",
                paths=(entry.path,),
                evidence=tuple(Evidence("index url", u) for u in by_url),
                remediation=(
                    "Confirm the index is your organisation's mirror; otherwise remove the setting "
                    "and check what was installed from it."
                ),
            )
