"""Shell-history lines that installed or downloaded Python packages, per home (and ``/root``).

Reads ``.bash_history`` (``#<epoch>`` lines give times when ``HISTTIMEFORMAT`` was set),
``.zsh_history`` (extended ``: <epoch>:<duration>;<command>``) and fish's
``.local/share/fish/fish_history`` (``- cmd: ...`` / ``  when: <epoch>``) as data, bounded, through
:class:`~sitesweep.hostfs.HostRoot`. Only installer invocations are kept, redacted
(:mod:`sitesweep.host.history_parse`); every other line is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.history_parse import HistoryPackage, parse_command
from sitesweep.host.identity import User
from sitesweep.host.locations import confine, homes, lstat_quiet
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.parsing import guarded

AREA = "history"
HISTORY_LIMIT = 16 << 20
"""Largest history file read (bytes); a larger one is a gap."""

HISTORY_FILES: Tuple[Tuple[str, str], ...] = (
    ("bash", ".bash_history"),
    ("zsh", ".zsh_history"),
    ("fish", ".local/share/fish/fish_history"),
)
"""(shell, path relative to a home) of the history files read."""

_BASH_TIME = re.compile(r"^#(\d{9,11})\s*$")
_ZSH_EXTENDED = re.compile(r"^: *(\d{9,11}):\d*;(.*)$", re.DOTALL)
_FISH_CMD = re.compile(r"^- cmd: ?(.*)$")
_FISH_WHEN = re.compile(r"^\s+when: *(\d{9,11})\s*$")
_INSTALLERS = re.compile(r"\b(?:pip[0-9.]*|uvx?|pipx|poetry|pdm|conda|mamba|micromamba)\b")


@dataclass(frozen=True)
class HistoryInstall:
    """One history line that ran a Python package installer.

    Attributes:
        path: the history file (host path).
        user: the account whose home holds it.
        shell: ``bash``, ``zsh`` or ``fish``.
        line: 1-based line number in the file.
        epoch: when the command ran (UTC epoch seconds), or ``None`` when the format has no time.
        file_mtime: the history file's modification time.
        tool: the installer and subcommand (``pip install``, ``uvx``, ...).
        command: the installer invocation, rebuilt and redacted (never the raw line).
        packages: the packages it names, canonicalised, with exact pins.
    """

    path: HostPath
    user: str
    shell: str
    line: int
    epoch: Optional[float]
    file_mtime: float
    tool: str
    command: str
    packages: Tuple[HistoryPackage, ...]


def collect_history(
    root: HostRoot, users: Sequence[User]
) -> Tuple[Tuple[HistoryInstall, ...], Tuple[Gap, ...]]:
    """Read every home's shell histories; return the install lines and what was unreadable."""
    found: List[HistoryInstall] = []
    gaps: List[Gap] = []
    for user, home in homes(users):
        for shell, relative in HISTORY_FILES:
            path = f"{home}/{relative}"
            found += guarded(AREA, path, gaps, [], _read_one, root, user, shell, path, gaps)
    return tuple(sorted(found, key=lambda h: (h.path, h.line))), tuple(gaps)


def _read_one(
    root: HostRoot, user: str, shell: str, path: str, gaps: List[Gap]
) -> List[HistoryInstall]:
    info = lstat_quiet(root, path, AREA, gaps)
    if info is None:
        return []
    try:
        data = root.read_bytes(confine(root, path), HISTORY_LIMIT)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
        return []
    if shell == "zsh":
        data = unmetafy(data)
    text = data.decode("utf-8", "replace")
    entries = {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](text)
    found: List[HistoryInstall] = []
    for line, epoch, command in entries:
        if not _INSTALLERS.search(command):
            continue
        found.extend(
            HistoryInstall(
                HostPath(path), user, shell, line, epoch, info.mtime, hit.tool, hit.command,
                hit.packages,
            )
            for hit in parse_command(command)
        )  # fmt: skip
    return found


def unmetafy(data: bytes) -> bytes:
    """Undo zsh's history "metafication" (``0x83`` then the byte XOR ``0x20``)."""
    if b"\x83" not in data:
        return data
    out = bytearray()
    meta = False
    for byte in data:
        if meta:
            out.append(byte ^ 0x20)
            meta = False
        elif byte == 0x83:
            meta = True
        else:
            out.append(byte)
    return bytes(out)


Entry = Tuple[int, Optional[float], str]
"""(line number, epoch or None, command text)."""


def _bash(text: str) -> Iterator[Entry]:
    epoch: Optional[float] = None
    for number, line in enumerate(text.splitlines(), 1):
        stamp = _BASH_TIME.match(line)
        if stamp:
            epoch = float(stamp.group(1))
            continue
        yield number, epoch, line
        epoch = None


def _zsh(text: str) -> Iterator[Entry]:
    epoch: Optional[float] = None
    continued = False
    for number, line in enumerate(text.splitlines(), 1):
        match = _ZSH_EXTENDED.match(line)
        if match and not continued:
            epoch, command = float(match.group(1)), match.group(2)
        elif continued:
            command = line
        else:
            epoch, command = None, line
        continued = line.endswith("\\")
        yield number, epoch, command.rstrip("\\")


def _fish(text: str) -> Iterator[Entry]:
    pending: Optional[Tuple[int, str]] = None
    for number, line in enumerate(text.splitlines(), 1):
        cmd = _FISH_CMD.match(line)
        if cmd:
            if pending is not None:
                yield pending[0], None, pending[1]
            pending = (number, _fish_unescape(cmd.group(1)))
            continue
        when = _FISH_WHEN.match(line)
        if when and pending is not None:
            yield pending[0], float(when.group(1)), pending[1]
            pending = None
    if pending is not None:
        yield pending[0], None, pending[1]


def _fish_unescape(text: str) -> str:
    return text.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")
