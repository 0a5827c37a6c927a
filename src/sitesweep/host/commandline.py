"""What a persistence command runs, as host paths: words split, variables of its user expanded.

A launchd ``ProgramArguments`` list, a shortcut's target and arguments, a scheduled task's
``Command`` and ``Arguments`` or a ``Run`` value are all "a program and its arguments". This module
turns them into the host paths of the program and the script it is given, so a check can judge a
LaunchAgent and a Startup shortcut the same way. Nothing is executed or looked up: the result is
text only, and a path outside the root (another drive, a UNC share) is simply not listed.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from sitesweep.model import HostPath

MAX_WORDS = 64
"""Words looked at per command (a padded command line is cut here)."""

SCRIPT_SUFFIXES = (
    ".py", ".pyw", ".pyc", ".pyz", ".sh", ".bash", ".zsh", ".command", ".ps1", ".psm1", ".bat",
    ".cmd", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".hta", ".exe", ".scr", ".dll", ".app",
    ".applescript", ".scpt",
)  # fmt: skip
"""Arguments with these suffixes are programs or scripts, wherever they stand in the command."""

INTERPRETERS = re.compile(
    r"^(python[0-9.]*[wt]?|pythonw|pypy[0-9.]*|py|pyw|sh|bash|zsh|dash|ksh|fish|osascript|perl|"
    r"ruby|node|powershell|pwsh|wscript|cscript|cmd|mshta|rundll32|regsvr32|uv|uvx|pipx)"
    r"(\.exe)?$",
    re.IGNORECASE,
)
"""Programs whose first non-option argument is the script they run."""

_DRIVE = re.compile(r"^(?:\\\\\?\\)?([A-Za-z]):[\\/](.*)$")
_VARIABLE = re.compile(r"%([A-Za-z_][A-Za-z0-9_()]*)%")
_SYSTEM_VARIABLES: Dict[str, str] = {
    "systemroot": "/Windows",
    "windir": "/Windows",
    "systemdrive": "",
    "programdata": "/ProgramData",
    "allusersprofile": "/ProgramData",
    "programfiles": "/Program Files",
    "programfiles(x86)": "/Program Files (x86)",
    "programw6432": "/Program Files",
    "commonprogramfiles": "/Program Files/Common Files",
    "public": "/Users/Public",
}
_USER_VARIABLES: Dict[str, str] = {
    "userprofile": "",
    "appdata": "/AppData/Roaming",
    "localappdata": "/AppData/Local",
    "temp": "/AppData/Local/Temp",
    "tmp": "/AppData/Local/Temp",
    "onedrive": "/OneDrive",
}


def split_windows(command: str) -> List[str]:
    """Split a Windows command line the way ``CommandLineToArgvW`` does (quotes, backslashes)."""
    words: List[str] = []
    current: List[str] = []
    in_word = quoted = False
    i, n = 0, len(command)
    while i < n and len(words) < MAX_WORDS:
        ch = command[i]
        if ch == "\\":
            j = i
            while j < n and command[j] == "\\":
                j += 1
            count = j - i
            if j < n and command[j] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    j += 1
                i, in_word = j, True
                continue
            current.append("\\" * count)
            i, in_word = j, True
            continue
        if ch == '"':
            quoted, in_word = not quoted, True
        elif ch in " \t" and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(ch)
            in_word = True
        i += 1
    if in_word and len(words) < MAX_WORDS:
        words.append("".join(current))
    return words


def split_posix(command: str) -> List[str]:
    """Split a shell-like command: quotes grouped, never an error (unbalanced quotes end a word)."""
    words: List[str] = []
    current: List[str] = []
    quote = ""
    in_word = False
    for ch in command:
        if len(words) >= MAX_WORDS:
            break
        if quote:
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(ch)
            in_word = True
    if in_word and len(words) < MAX_WORDS:
        words.append("".join(current))
    return words


def expand_windows(text: str, home: Optional[str]) -> str:
    """Expand ``%VAR%`` names whose value is known on the scanned drive (``home``: the user's)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name in _SYSTEM_VARIABLES:
            return "C:" + _SYSTEM_VARIABLES[name].replace("/", "\\")
        if name in _USER_VARIABLES and home:
            return "C:" + (home + _USER_VARIABLES[name]).replace("/", "\\")
        return match.group(0)

    return _VARIABLE.sub(value, text)


def windows_host_path(word: str, home: Optional[str]) -> Optional[HostPath]:
    """The host path of a ``C:\\...`` path (the scanned root is drive C:), else ``None``."""
    match = _DRIVE.match(expand_windows(word.strip(), home))
    if not match or match.group(1).upper() != "C":
        return None
    rest = match.group(2).replace("\\", "/").strip("/")
    return HostPath("/" + "/".join(p for p in rest.split("/") if p and p != "."))


def posix_host_path(word: str, home: Optional[str]) -> Optional[HostPath]:
    """The host path of an absolute or ``~/`` path, else ``None``."""
    for prefix in ("~/", "$HOME/", "${HOME}/"):
        if word.startswith(prefix):
            return HostPath(f"{home}/{word[len(prefix) :]}") if home else None
    return HostPath(word) if word.startswith("/") else None


def _base(word: str) -> str:
    return re.split(r"[\\/]", word)[-1]


LAUNCHERS = frozenset(
    {"start", "call", "nohup", "exec", "env", "setsid", "nice", "caffeinate", "launchctl"}
)
"""Words that start the next word as the program (``start "" /b pythonw x.py``, ``nohup``)."""

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "cmd", "powershell", "pwsh"})
_COMMAND_FLAGS = frozenset({"-c", "/c", "/k", "/r", "-command", "-cmd"})
"""A shell's flag whose argument is a command line of its own (``sh -c``, ``cmd /c``)."""
MAX_DEPTH = 3


def _name(word: str) -> str:
    base = _base(word).lower()
    return base[:-4] if base.endswith(".exe") else base


def _skip_launchers(words: Sequence[str]) -> List[str]:
    """Drop leading launcher words with their options (``start "" /min``, ``env A=1``)."""
    rest = list(words)
    while rest and _name(rest[0]) in LAUNCHERS:
        rest = rest[1:]
        while rest and (
            not rest[0] or rest[0].startswith("-") or re.match(r"^/[A-Za-z]+$|^\w+=", rest[0])
        ):
            rest = rest[1:]
    return rest or list(words[:1])


def _script_words(words: Sequence[str], windows: bool, depth: int = 0) -> List[str]:
    """The program, the script an interpreter is given, and every word naming a script; a
    shell's ``-c``/``/c`` command line is split and looked into in turn."""
    words = _skip_launchers(words)
    if not words:
        return []
    chosen = [words[0]]
    rest = list(words[1:])
    name = _name(words[0])
    if name in SHELLS and depth < MAX_DEPTH:
        for i, word in enumerate(rest):
            if word.lower() in _COMMAND_FLAGS and i + 1 < len(rest):
                inner = " ".join(rest[i + 1 :]) if windows else rest[i + 1]
                split = split_windows(inner) if windows else split_posix(inner)
                return chosen + _script_words(split, windows, depth + 1)
    if INTERPRETERS.match(_base(words[0])):
        for word in rest:
            if word.startswith("-") or (word.startswith("/") and len(word) <= 3):
                continue  # an option (cmd's /c, wscript's //B)
            chosen.append(word)
            break
    chosen += [w for w in rest if w.lower().endswith(SCRIPT_SUFFIXES) and w not in chosen]
    return chosen


def programs_of(
    argv: Sequence[str],
    home: Optional[str],
    windows: bool,
    working_dir: Optional[str] = None,
) -> Tuple[HostPath, ...]:
    """Host paths of the program and scripts in ``argv`` (one split command).

    Args:
        argv: the program and its arguments.
        home: host path of the entry's user's home (for ``~`` and ``%APPDATA%``), if any.
        windows: whether the words are Windows paths.
        working_dir: where a relative script is looked up (a shortcut's or task's).
    """
    found: List[HostPath] = []
    for index, word in enumerate(_script_words(argv, windows)):
        word = word.strip().strip('"')
        if not word:
            continue
        path = windows_host_path(word, home) if windows else posix_host_path(word, home)
        bare = index == 0 and not re.search(r"[\\/]", word)  # a program name: found on PATH
        if (
            path is None
            and working_dir
            and not bare
            and not re.match(r"^[A-Za-z]:|^[\\/]|^%", word)
        ):
            if windows and ("\\" in word or word.lower().endswith(SCRIPT_SUFFIXES)):
                path = windows_host_path(f"{working_dir.rstrip(chr(92))}\\{word}", home)
            elif not windows and word.endswith(SCRIPT_SUFFIXES):
                path = posix_host_path(f"{working_dir.rstrip('/')}/{word}", home)
        if path is not None and path not in found:
            found.append(path)
    return tuple(found)


def command_programs(
    command: str, home: Optional[str], windows: bool, working_dir: Optional[str] = None
) -> Tuple[HostPath, ...]:
    """:func:`programs_of` for one command line."""
    words = split_windows(command) if windows else split_posix(command)
    return programs_of(words, home, windows, working_dir)
