"""Read persistence files as data: what they run, which index URLs and variables they set.

Nothing here executes, sources or expands anything; every parser is lenient (an unexpected line is
kept or skipped, never an error) and bounded (at most :data:`MAX_ITEMS` items per file).
"""

from __future__ import annotations

import plistlib
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import unquote, urlsplit
from xml.parsers.expat import ExpatError

from sitesweep.host.commandline import split_windows
from sitesweep.host.lnk import LnkUnavailableError, LnkUnreadableError, read_shortcut
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
    """What one file says.

    Attributes:
        commands: what it runs, as text (redaction happens where it is reported).
        index_urls: package index URLs (user:password parts redacted).
        variables: names of the environment variables it sets (never their values).
        python_startup: the ``PYTHONSTARTUP`` value it sets.
        secret: whether the file may hold a secret (never copied into a bundle).
        label, description, triggers: see :class:`~sitesweep.host.model.PersistenceEntry`.
        argv: each command split into program and arguments, for
            :func:`sitesweep.host.commandline.programs_of`.
        windows: whether the commands are Windows command lines.
        working_dir: where the commands start (a shortcut's or a task's working directory).
        run_as: the account a task runs as, as written (``DOMAIN\\alice``, a SID).
        problem: why the file could not be read as its format (recorded as a gap).
    """

    commands: Tuple[str, ...] = ()
    index_urls: Tuple[str, ...] = ()
    variables: Tuple[str, ...] = ()
    python_startup: Optional[str] = None
    secret: bool = False
    label: Optional[str] = None
    description: Optional[str] = None
    triggers: Tuple[str, ...] = ()
    argv: Tuple[Tuple[str, ...], ...] = ()
    windows: bool = False
    working_dir: Optional[str] = None
    run_as: Optional[str] = None
    problem: Optional[str] = None


def _cut(text: str) -> str:
    """A name (a label, an account): bounded, not a command line, so not redacted."""
    text = text.strip()
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "..."


def clip_command(text: str) -> str:
    """A command line as it is kept: redacted and bounded."""
    return _clip(text)


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
        if _RUNS_FROM_USER_DIRS.search(line) and len(commands) < MAX_ITEMS:
            commands.append(_clip(line))
    return Parsed(
        commands=tuple(commands),
        index_urls=tuple(dict.fromkeys(urls)),
        variables=tuple(sorted(set(names))),
        python_startup=startup,
        secret=secret,
    )


_RUNS_FROM_USER_DIRS = re.compile(
    r"python|/tmp/|/var/tmp/|/dev/shm/|\.local/bin/|\bnohup\b|\bcurl\b|\bwget\b|\bbase64\b",
    re.IGNORECASE,
)
"""Script lines kept as commands: Python, and what runs from temporary or user directories or
fetches code (the persistence checks judge them; other lines of a profile are not recorded)."""


def parse_script(text: str) -> Parsed:
    """A shell script (rc.local, init.d, cron.daily, at job): the lines naming Python, temporary
    or user ``bin`` directories, or a fetch."""
    hits = [_clip(ln) for ln in _lines(text) if _RUNS_FROM_USER_DIRS.search(ln)]
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


LAUNCHD_TRIGGERS = (
    "RunAtLoad", "KeepAlive", "StartInterval", "StartCalendarInterval", "WatchPaths",
    "QueueDirectories", "StartOnMount", "LaunchEvents", "Sockets", "MachServices",
)  # fmt: skip
"""launchd keys that make a job start (recorded by name when set and not false)."""


def _load_plist(data: bytes) -> Tuple[Any, Optional[str]]:
    try:
        return plistlib.loads(data), None
    except _PLIST_ERRORS as exc:
        return None, f"not a readable property list ({type(exc).__name__})"


def parse_launchd(data: bytes, credential_names: frozenset[str] = frozenset()) -> Parsed:
    """A launchd job (binary or XML plist): label, program and arguments, triggers, variable names.

    ``EnvironmentVariables`` gives names only; a job setting a secret-looking name is not copied.
    """
    doc, problem = _load_plist(data)
    if problem:
        return Parsed(problem=problem)
    if not isinstance(doc, dict):
        return Parsed(problem="property list is not a dictionary")
    commands: List[str] = []
    program = doc.get("Program")
    program = _clip(program) if isinstance(program, str) else None
    args = doc.get("ProgramArguments")
    words = [str(a)[:MAX_LINE] for a in args[:MAX_ITEMS]] if isinstance(args, list) else []
    if program:
        commands.append(program)
    if words:
        commands.append(_clip(shlex.join(words)))
    argv = [program, *words[1:]] if program else words
    triggers = [k for k in LAUNCHD_TRIGGERS if doc.get(k) not in (None, False, 0, "", [], {})]
    if doc.get("Disabled") is True:
        triggers.append("Disabled")
    env = doc.get("EnvironmentVariables")
    names = sorted(str(k) for k in env)[:MAX_ITEMS] if isinstance(env, dict) else []
    secret = any(SECRET_NAME.search(n) or n in credential_names for n in names)
    label = doc.get("Label")
    return Parsed(
        commands=tuple(commands),
        variables=tuple(names),
        secret=secret,
        label=_cut(label) if isinstance(label, str) else None,
        triggers=tuple(triggers),
        argv=(tuple(argv),) if argv else (),
        working_dir=_string(doc.get("WorkingDirectory")),
    )


def _string(value: Any) -> Optional[str]:
    return _cut(value) if isinstance(value, str) and value.strip() else None


def _file_url(text: str) -> str:
    return unquote(text[len("file://") :]) if text.startswith("file://") else text


def _plist_strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _plist_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _plist_strings(item, depth + 1)


def parse_login_items(data: bytes) -> Parsed:
    """macOS login items (``backgrounditems.btm``, an NSKeyedArchiver plist; ``loginitems``).

    The archive is not unarchived: the application and program URLs and paths among its strings
    are kept. An unreadable store is still recorded (by name), with the reason.
    """
    doc, problem = _load_plist(data)
    if problem:
        return Parsed(label="login items", problem=problem)
    hits: List[str] = []
    for text in _plist_strings(doc):
        if text.startswith(("file://", "/")) and len(hits) < MAX_ITEMS:
            hits.append(_clip(text))
    commands = tuple(dict.fromkeys(hits))
    return Parsed(
        commands=commands,
        label="login items",
        argv=tuple((_file_url(c),) for c in commands),
    )


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


TASK_NAMESPACE = re.compile(r"^\{[^}]*\}")


def decode_text(data: bytes) -> str:
    """Text as Windows writes it: UTF-16 with a BOM (or without one), UTF-8 with or without BOM."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", "replace")
    if len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00":
        return data.decode("utf-16-le", "replace")
    return data.decode("utf-8", "replace")


def _local(tag: str) -> str:
    return TASK_NAMESPACE.sub("", tag)


def _child(node: ET.Element, *names: str) -> Optional[ET.Element]:
    current: Optional[ET.Element] = node
    for name in names:
        if current is None:
            return None
        current = next((c for c in current if _local(c.tag) == name), None)
    return current


def _child_text(node: ET.Element, *names: str, redact: bool = True) -> Optional[str]:
    found = _child(node, *names)
    text = (found.text or "").strip() if found is not None else ""
    if not text:
        return None
    return _clip(text) if redact else _cut(text)


def parse_task_xml(data: bytes) -> Parsed:
    """A Task Scheduler task: its name, description, triggers, account and ``Exec`` actions.

    A document with a DTD is refused (recorded as a problem): Windows never writes one.
    """
    text = decode_text(data)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return Parsed(problem="task XML with a document type declaration is not read")
    try:
        doc = ET.fromstring(text)  # noqa: S314 - no DTD (refused above), so no entity expansion
    except (ET.ParseError, ValueError, RecursionError) as exc:
        return Parsed(problem=f"not readable task XML ({type(exc).__name__})")
    if _local(doc.tag) != "Task":
        return Parsed(problem=f"not a task document (root element {_local(doc.tag)[:40]})")
    commands: List[str] = []
    argv: List[Tuple[str, ...]] = []
    working_dir = None
    actions = _child(doc, "Actions")
    for action in list(actions if actions is not None else [])[:MAX_ITEMS]:
        kind = _local(action.tag)
        if kind == "Exec":
            command = _child_text(action, "Command") or ""
            arguments = _child_text(action, "Arguments") or ""
            working_dir = working_dir or _child_text(action, "WorkingDirectory", redact=False)
            commands.append(_clip(f"{command} {arguments}"))
            argv.append((command, *split_windows(arguments)))
        elif kind == "ComHandler":
            commands.append(f"COM handler {_child_text(action, 'ClassId') or '?'}")
    triggers_node = _child(doc, "Triggers")
    triggers = [_local(t.tag) for t in (triggers_node if triggers_node is not None else [])]
    if (_child_text(doc, "Settings", "Hidden") or "").lower() == "true":
        triggers.append("Hidden")
    if (_child_text(doc, "Settings", "Enabled") or "").lower() == "false":
        triggers.append("Disabled")
    principals = _child(doc, "Principals")
    principal = next(iter(principals), None) if principals is not None else None
    run_as = _child_text(principal, "UserId", redact=False) if principal is not None else None
    if not run_as or run_as.upper().startswith("S-1-"):  # a SID: the author names the account
        run_as = _child_text(doc, "RegistrationInfo", "Author", redact=False) or run_as
    return Parsed(
        commands=tuple(commands),
        label=_child_text(doc, "RegistrationInfo", "URI", redact=False),
        description=_child_text(doc, "RegistrationInfo", "Description"),
        triggers=tuple(dict.fromkeys(triggers[:MAX_ITEMS])),
        argv=tuple(argv),
        windows=True,
        working_dir=working_dir,
        run_as=run_as,
    )


_BATCH_SKIP = re.compile(
    r"^(rem\b|::|echo\b|setlocal\b|endlocal\b|exit\b|goto\b|:|cd\b|chdir\b|pushd\b|"
    r"popd\b|title\b|cls\b|pause\b|color\b|chcp\b|timeout\b)",
    re.IGNORECASE,
)
_BATCH_SET = re.compile(r"^set\s+(?:/a\s+|/p\s+)?\"?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.IGNORECASE)
_BATCH_LAUNCH = re.compile(r"^(?:start\s+(?:\"[^\"]*\"\s+)?(?:/\w+\s+)*|call\s+)", re.IGNORECASE)
_SCRIPT_RUN = re.compile(
    r"\.(?:Run|Exec|ShellExecute)\s*\(?\s*\"((?:[^\"]|\"\")*)\"", re.IGNORECASE
)
_PS_RUNS = re.compile(
    r"Start-Process|\bsaps\b|Invoke-Expression|\biex\b|Invoke-WebRequest|\biwr\b|"
    r"Invoke-RestMethod|\birm\b|DownloadString|DownloadFile|Start-Job|FromBase64String|"
    r"-enc(?:odedcommand)?\b|^\s*&|\.(?:exe|py|pyw|bat|cmd|vbs|ps1)\b|\bpython|\bpy\s",
    re.IGNORECASE,
)
_PS_ENV = re.compile(r"^\s*\$env:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.IGNORECASE)
_PS_WORDS = re.compile(
    r"^(Start-Process|saps|Start-Job|&|\.)$|^-(FilePath|ArgumentList|WindowStyle|NoNewWindow|"
    r"PassThru|Wait)$",
    re.IGNORECASE,
)


@dataclass
class _ScriptState:
    commands: List[str]
    argv: List[Tuple[str, ...]]
    names: List[str]
    urls: List[str]
    credential_names: frozenset[str]
    secret: bool = False
    block_comment: bool = False

    def assign(self, name: str, value: str) -> None:
        self.names.append(name)
        found = _URL.findall(value) if name.upper() in INDEX_VARIABLES else []
        self.urls += [redact_url(u) for u in found]
        self.secret = self.secret or bool(
            SECRET_NAME.search(name)
            or name in self.credential_names
            or any("@" in urlsplit(u).netloc for u in found)
        )

    def runs(self, command: str, argv: List[str]) -> None:
        self.commands.append(_clip(command))
        self.argv.append(tuple(argv))


def _batch_line(state: _ScriptState, line: str) -> None:
    assigned = _BATCH_SET.match(line)
    if assigned:
        state.assign(assigned.group(1), assigned.group(2))
    elif not _BATCH_SKIP.match(line):
        state.runs(line, split_windows(_BATCH_LAUNCH.sub("", line)))


def _powershell_line(state: _ScriptState, line: str) -> None:
    if state.block_comment or line.startswith("<#"):
        state.block_comment = "#>" not in line
        return
    if line.startswith("#"):
        return
    assigned = _PS_ENV.match(line)
    if assigned:
        state.assign(assigned.group(1), _unquote(assigned.group(2)))
    elif _PS_RUNS.search(line):
        words = [w for w in split_windows(line) if not _PS_WORDS.match(w)]
        state.runs(line, [w.strip("'\"(),;") for w in words])


def _wsh_line(state: _ScriptState, line: str) -> None:
    if line.startswith(("'", "//")) or line.lower().startswith("rem "):
        return
    for found in _SCRIPT_RUN.findall(line):
        command = found.replace('""', '"')
        state.runs(command, split_windows(command))


_SCRIPT_LINE: Dict[str, Callable[[_ScriptState, str], None]] = {
    ".bat": _batch_line,
    ".cmd": _batch_line,
    ".ps1": _powershell_line,
}


def parse_windows_script(
    text: str, suffix: str, credential_names: frozenset[str] = frozenset()
) -> Parsed:
    """A ``.bat``/``.cmd``/``.vbs``/``.js``/``.ps1`` file: the lines that run something.

    Batch files keep every line but housekeeping (``echo``, ``rem``, ``cd``...); VBScript and
    JScript the string given to ``.Run``/``.Exec``; PowerShell the lines that start, download or
    decode something. Variables set (``set NAME=``, ``$env:NAME =``) are kept by name.
    """
    state = _ScriptState([], [], [], [], credential_names)
    handle = _SCRIPT_LINE.get(suffix, _wsh_line)
    for raw in text.splitlines():
        line = raw.strip().lstrip("@").strip()
        if line and len(state.commands) < MAX_ITEMS:
            handle(state, line)
    return Parsed(
        commands=tuple(state.commands),
        index_urls=tuple(dict.fromkeys(state.urls)),
        variables=tuple(sorted(set(state.names))),
        secret=state.secret,
        argv=tuple(state.argv),
        windows=True,
    )


def parse_shortcut(data: bytes) -> Parsed:
    """A ``.lnk`` shortcut: target, arguments, working directory and comment."""
    try:
        link = read_shortcut(data)
    except LnkUnavailableError as exc:
        return Parsed(windows=True, problem=f"shortcut not parsed: {exc}")
    except LnkUnreadableError as exc:
        return Parsed(windows=True, problem=f"not a readable shortcut: {exc}")
    command = " ".join(
        part for part in (f'"{link.target}"' if link.target else "", link.arguments or "") if part
    )
    argv = (link.target or "", *split_windows(link.arguments or "")) if command else ()
    return Parsed(
        commands=(_clip(command),) if command else (),
        description=link.description,
        argv=(argv,) if argv else (),
        windows=True,
        working_dir=link.working_dir,
    )


STARTUP_SCRIPTS = (".bat", ".cmd", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".ps1")
"""Startup-folder files whose contents say what they run."""


def _suffix(host_path: str) -> str:
    name = host_path.rsplit("/", 1)[-1].lower()
    return name[name.rfind(".") :] if "." in name else ""


def _startup_item(data: bytes, host_path: str, names: frozenset[str]) -> Parsed:
    suffix = _suffix(host_path)
    if suffix == ".lnk":
        return parse_shortcut(data)
    if suffix in STARTUP_SCRIPTS:
        return parse_windows_script(decode_text(data), suffix, names)
    if suffix == ".ini":  # desktop.ini: folder display settings
        return Parsed(windows=True)
    return Parsed(argv=((host_path,),))  # a program, started as it is


def _cron(text: str, host_path: str) -> Parsed:
    if re.match(r"^/etc/cron\.(hourly|daily|weekly|monthly)/", host_path):
        return parse_script(text)
    return parse_crontab(text, user_field=host_path.startswith("/etc/"))


def _periodic(text: str, host_path: str, names: frozenset[str]) -> Parsed:
    return parse_shell(text, names) if host_path.endswith(".conf") else parse_script(text)


K = PersistenceKind
_BINARY: Dict[PersistenceKind, Callable[[bytes, str, frozenset[str]], Parsed]] = {
    K.LAUNCHD: lambda data, _path, names: parse_launchd(data, names),
    K.LOGIN_ITEMS: lambda data, _path, _names: parse_login_items(data),
    K.SCHEDULED_TASK: lambda data, _path, _names: parse_task_xml(data),
    K.STARTUP_FOLDER: _startup_item,
    K.POWERSHELL_PROFILE: lambda data, _p, names: parse_windows_script(
        decode_text(data), ".ps1", names
    ),
}
_TEXT: Dict[PersistenceKind, Callable[[str, str, frozenset[str]], Parsed]] = {
    K.SHELL: lambda text, _path, names: parse_shell(text, names),
    K.ENVIRONMENT: lambda text, _path, names: parse_shell(text, names),
    K.SYSTEMD: lambda text, _path, _names: parse_exec_keys(text),
    K.XDG_AUTOSTART: lambda text, _path, _names: parse_exec_keys(text),
    K.CRON: lambda text, path, _names: _cron(text, path),
    K.ANACRON: lambda text, _path, _names: parse_anacrontab(text),
    K.LD_PRELOAD: lambda text, _path, _names: parse_plain_lines(text),
    K.AUTHORIZED_KEYS: lambda text, _path, _names: parse_authorized_keys(text),
    K.INDEX_CONFIG: lambda text, _path, _names: parse_index_config(text),
    K.PYPIRC: lambda _text, _path, _names: Parsed(secret=True),
    K.PERIODIC: _periodic,
    K.AT: lambda text, _path, _names: parse_script(text),
    K.RC_LOCAL: lambda text, _path, _names: parse_script(text),
    K.INIT_D: lambda text, _path, _names: parse_script(text),
}
"""Parser of each mechanism: of the file's bytes (plists, shortcuts, UTF-16 XML) or its text."""


def parse(kind: PersistenceKind, data: bytes, host_path: str, names: frozenset[str]) -> Parsed:
    """Dispatch on the mechanism (and, for cron and Startup folders, on the file)."""
    binary = _BINARY.get(kind)
    if binary is not None:
        return binary(data, host_path, names)
    text_parser = _TEXT.get(kind)
    if text_parser is None:
        return Parsed()
    return text_parser(decode_text(data), host_path, names)
