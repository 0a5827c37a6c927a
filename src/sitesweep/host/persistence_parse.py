"""Read persistence files as data: what they run, which index URLs and variables they set.

Nothing here executes, sources or expands anything; every parser is lenient (an unexpected line is
kept or skipped, never an error) and bounded (at most :data:`MAX_ITEMS` items per file).
"""

from __future__ import annotations

import plistlib
import re
import shlex
from dataclasses import dataclass
from typing import List, Optional, Tuple
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

from sitesweep.host.model import PersistenceKind
from sitesweep.redact import redact_text, redact_url

MAX_ITEMS = 50
MAX_LINE = 500

INDEX_VARIABLES = frozenset(
    {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX",
     "UV_EXTRA_INDEX_URL", "PIP_FIND_LINKS"}
)  # fmt: skip
"""Environment variables that point pip or uv at another package index."""

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
"""Variable names that probably hold a secret: a file assigning one is never copied."""

_ASSIGN = re.compile(
    r"^\s*(?:export\s+|declare\s+-\w+\s+|typeset\s+-\w+\s+|readonly\s+|local\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)=(.*)$"
)
_FISH_SET = re.compile(r"^\s*set\s+(?:-[A-Za-z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_CSH_SETENV = re.compile(r"^\s*setenv\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_PAM_ENV = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(?:DEFAULT|OVERRIDE)=(.*)$")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_INDEX_KEY = re.compile(
    r"^\s*(index[-_]url|extra[-_]index[-_]url|default[-_]index|find[-_]links|url)\s*[=:]",
    re.IGNORECASE,
)
_EXEC_KEY = re.compile(r"^\s*(Exec\w*)\s*=\s*(.*)$")
_CRON_ENV = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=")
_PLIST_ERRORS = (
    plistlib.InvalidFileException, ValueError, TypeError, KeyError, IndexError, OverflowError,
    ExpatError, RecursionError,
)  # fmt: skip
_SSH_COMMAND = re.compile(r'command="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Parsed:
    """What one file says."""

    commands: Tuple[str, ...] = ()
    index_urls: Tuple[str, ...] = ()
    variables: Tuple[str, ...] = ()
    python_startup: Optional[str] = None
    secret: bool = False


def _clip(text: str) -> str:
    text = redact_text(text.strip())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "..."


def _lines(text: str) -> List[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _unquote(value: str) -> str:
    value = value.split(" #", 1)[0].strip().rstrip(";")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _assignment(line: str) -> Optional[Tuple[str, str]]:
    for pattern in (_ASSIGN, _FISH_SET, _CSH_SETENV, _PAM_ENV):
        match = pattern.match(line)
        if match:
            return match.group(1), _unquote(match.group(2))
    return None


def parse_shell(text: str, credential_names: frozenset[str]) -> Parsed:
    """Shell start-up and environment files: variable names, index URLs, PYTHONSTARTUP."""
    names: List[str] = []
    urls: List[str] = []
    commands: List[str] = []
    startup: Optional[str] = None
    secret = False
    for line in _lines(text):
        found = _assignment(line)
        if found is not None:
            name, value = found
            names.append(name)
            secret = secret or bool(SECRET_NAME.search(name)) or name in credential_names
            if name in INDEX_VARIABLES:
                found_urls = _URL.findall(value)
                urls += [redact_url(u) for u in found_urls]
                secret = secret or any("@" in urlsplit(u).netloc for u in found_urls)
            elif name == "PYTHONSTARTUP" and value:
                startup = value
        if "python" in line.lower() and len(commands) < MAX_ITEMS:
            commands.append(_clip(line))
    return Parsed(
        commands=tuple(commands),
        index_urls=tuple(dict.fromkeys(urls)),
        variables=tuple(sorted(set(names))),
        python_startup=startup,
        secret=secret,
    )


def parse_script(text: str) -> Parsed:
    """A shell script (rc.local, init.d, cron.daily, at job): the lines naming Python."""
    hits = [_clip(ln) for ln in _lines(text) if "python" in ln.lower()]
    return Parsed(commands=tuple(hits[:MAX_ITEMS]))


def parse_exec_keys(text: str) -> Parsed:
    """systemd units and XDG ``.desktop`` files: every ``Exec*=`` value."""
    hits = []
    for line in _lines(text):
        match = _EXEC_KEY.match(line)
        if match and match.group(2).strip():
            hits.append(_clip(f"{match.group(1)}={match.group(2)}"))
    return Parsed(commands=tuple(hits[:MAX_ITEMS]))


def parse_crontab(text: str, user_field: bool) -> Parsed:
    """A crontab: the command of every job (schedule and, for system tables, user stripped)."""
    hits = []
    for line in _lines(text):
        if _CRON_ENV.match(line):
            continue
        fields = line.split()
        skip = 1 if fields[0].startswith("@") else 5
        skip += 1 if user_field else 0
        if len(fields) > skip:
            hits.append(_clip(" ".join(fields[skip:])))
    return Parsed(commands=tuple(hits[:MAX_ITEMS]))


def parse_anacrontab(text: str) -> Parsed:
    """``/etc/anacrontab``: period, delay, id, command."""
    hits = []
    for line in _lines(text):
        fields = line.split()
        if len(fields) > 3 and not _CRON_ENV.match(line):
            hits.append(_clip(" ".join(fields[3:])))
    return Parsed(commands=tuple(hits[:MAX_ITEMS]))


def parse_plist(data: bytes) -> Parsed:
    """A launchd plist: ``Program`` and ``ProgramArguments``."""
    try:
        doc = plistlib.loads(data)
    except _PLIST_ERRORS:  # unparseable means no commands; the hash and copy are still kept
        return Parsed()
    if not isinstance(doc, dict):
        return Parsed()
    hits = []
    program = doc.get("Program")
    if isinstance(program, str):
        hits.append(_clip(program))
    args = doc.get("ProgramArguments")
    if isinstance(args, list):
        hits.append(_clip(shlex.join(str(a) for a in args)))
    return Parsed(commands=tuple(hits))


def parse_plain_lines(text: str) -> Parsed:
    """``/etc/ld.so.preload``: each line is a library loaded into every process."""
    return Parsed(commands=tuple(_clip(ln) for ln in _lines(text)[:MAX_ITEMS]))


def parse_authorized_keys(text: str) -> Parsed:
    """``authorized_keys``: the forced ``command="..."`` options (keys themselves are public)."""
    hits = [_clip(m) for ln in _lines(text) for m in _SSH_COMMAND.findall(ln)]
    return Parsed(commands=tuple(hits[:MAX_ITEMS]))


def parse_index_config(text: str) -> Parsed:
    """pip.conf / pip.ini / uv.toml: index URLs (continuation lines of a key included)."""
    urls: List[str] = []
    secret = False
    in_key = False
    for line in text.splitlines():
        if _INDEX_KEY.match(line):
            in_key = True
        elif not line[:1].isspace() or not line.strip():
            in_key = False
        if in_key:
            for url in _URL.findall(line):
                urls.append(redact_url(url))
                secret = secret or "@" in urlsplit(url).netloc
    return Parsed(index_urls=tuple(dict.fromkeys(urls)), secret=secret)


def parse(kind: PersistenceKind, data: bytes, host_path: str, names: frozenset[str]) -> Parsed:
    """Dispatch on the mechanism (and, for cron, on where the table lives)."""
    text = data.decode("utf-8", "replace")
    if kind in (PersistenceKind.SHELL, PersistenceKind.ENVIRONMENT):
        return parse_shell(text, names)
    if kind in (PersistenceKind.SYSTEMD, PersistenceKind.XDG_AUTOSTART):
        return parse_exec_keys(text)
    if kind is PersistenceKind.CRON:
        if re.match(r"^/etc/cron\.(hourly|daily|weekly|monthly)/", host_path):
            return parse_script(text)
        return parse_crontab(text, user_field=host_path.startswith("/etc/"))
    if kind is PersistenceKind.ANACRON:
        return parse_anacrontab(text)
    if kind is PersistenceKind.LAUNCHD:
        return parse_plist(data)
    if kind is PersistenceKind.LD_PRELOAD:
        return parse_plain_lines(text)
    if kind is PersistenceKind.AUTHORIZED_KEYS:
        return parse_authorized_keys(text)
    if kind is PersistenceKind.INDEX_CONFIG:
        return parse_index_config(text)
    if kind is PersistenceKind.PYPIRC:
        return Parsed(secret=True)
    if kind in (PersistenceKind.AT, PersistenceKind.RC_LOCAL, PersistenceKind.INIT_D):
        return parse_script(text)
    return Parsed()
