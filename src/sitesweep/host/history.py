"""Shell-history lines that installed or downloaded Python packages, per home (and ``/root``).

Reads ``.bash_history`` (``#<epoch>`` lines give times when ``HISTTIMEFORMAT`` was set),
``.zsh_history`` (extended ``: <epoch>:<duration>;<command>``) and fish's
``.local/share/fish/fish_history`` (``- cmd: ...`` / ``  when: <epoch>``) as data, bounded, through
:class:`~sitesweep.hostfs.HostRoot`. Only installer invocations are kept, redacted
(:mod:`sitesweep.host.history_parse`); every other line is dropped.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from sitesweep.budget import charge
from sitesweep.errors import HostReadError
from sitesweep.host.history_parse import HistoryPackage, InstallCommand, parse_command
from sitesweep.host.identity import User
from sitesweep.host.locations import confine, homes, lstat_quiet
from sitesweep.hostfs import HostRoot, Opened
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.parsing import guarded

AREA = "history"
HISTORY_LIMIT = 256 << 20
"""Bytes of one history file read (streamed line by line, in constant memory, charged to the
scan's budget); past them the rest is not read and a gap says so."""
MAX_LINE = 64 << 10
"""Longest history line looked at; the rest of a longer line is skipped (a command is kilobytes
at most)."""
_CHUNK = 1 << 20
MAX_PARSED = 2_000
"""Installer lines parsed per history file (a real one holds a few hundred); see :func:`_parse`."""
MAX_COMMAND = 16 << 10
"""Longest installer line parsed (a real ``pip install`` line of 200 pins is about 5 KiB); a
longer one is parsed up to here."""
MAX_PARSED_BYTES = 1 << 20
"""Installer text parsed per history file (the first and the last half MiB of it): parsing and
redacting cost about 8 microseconds a byte on hostile text, so this bounds a file to seconds."""
MAX_ROWS = 50_000
"""Install rows kept per scan (every home's histories together); the rest are a gap."""

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
    parsed: Dict[Tuple[int, int, int, int, str], _Parsed] = {}  # one parse per file, per shell
    for user, home in homes(users):
        for shell, relative in HISTORY_FILES:
            path = f"{home}/{relative}"
            none: List[HistoryInstall] = []
            rows = guarded(AREA, path, gaps, none, _read_one, root, user, shell, path, gaps, parsed)
            if len(found) + len(rows) > MAX_ROWS:
                detail = f"more than {MAX_ROWS} install rows in this scan's histories; not kept"
                gaps.append(Gap(AREA, HostPath(path), GapReason.BUDGET, detail))
                rows = rows[: max(0, MAX_ROWS - len(found))]
            found += rows
    return tuple(sorted(found, key=lambda h: (h.path, h.line))), tuple(gaps)


_Hit = Tuple[int, Optional[float], InstallCommand]
_Parsed = Tuple[List[_Hit], Optional[str]]
"""A file's installer invocations, and what its row budget left out (``None``: nothing)."""


def _read_one(
    root: HostRoot,
    user: str,
    shell: str,
    path: str,
    gaps: List[Gap],
    parsed: Dict[Tuple[int, int, int, int, str], _Parsed],
) -> List[HistoryInstall]:
    info = lstat_quiet(root, path, AREA, gaps)
    if info is None:
        return []
    try:
        real = confine(root, path)
        st = root.stat_result(real)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, shell)
        known = parsed.get(key)
        if known is None:
            charge(root, path, min(st.st_size, HISTORY_LIMIT))
            cut = _Cut()
            with root.open_file(real) as fh:
                hits, left_out = _parse(_lines(fh, shell, cut), shell)
            if cut.note is not None:
                left_out = f"{left_out}; {cut.note}" if left_out else cut.note
            known = parsed[key] = (hits, left_out)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
        return []
    hits, left_out = known
    if left_out is not None:  # every path of a linked file says so
        gaps.append(Gap(AREA, HostPath(path), GapReason.BUDGET, left_out))
    return [
        HistoryInstall(
            HostPath(path), user, shell, line, epoch, info.mtime, hit.tool, hit.command,
            hit.packages,
        )
        for line, epoch, hit in hits
    ]  # fmt: skip


class _Cut:
    """What the streaming read of one file left unread (a note for its gap)."""

    def __init__(self) -> None:
        self.note: Optional[str] = None


def _lines(fh: Opened, shell: str, cut: Optional[_Cut] = None) -> Iterator[Tuple[int, str]]:
    """(1-based number, text) of each line of an open history file, streamed: at most
    :data:`HISTORY_LIMIT` bytes read, :data:`_CHUNK` at a time, each line cut at
    :data:`MAX_LINE` bytes (memory stays constant whatever the file). zsh's metafied bytes are
    undone line by line; bytes that are not UTF-8 become U+FFFD."""
    number, read, pending, skipping = 0, 0, b"", False
    while read < HISTORY_LIMIT:
        chunk = fh.read(min(_CHUNK, HISTORY_LIMIT - read))
        if not chunk:
            break
        read += len(chunk)
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not skipping:
                    pending += chunk[start : start + MAX_LINE - len(pending)]
                    skipping = len(pending) >= MAX_LINE
                break
            if not skipping:
                pending += chunk[start : min(end, start + MAX_LINE - len(pending))]
            number += 1
            yield number, _decode(pending, shell)
            pending, skipping, start = b"", False, end + 1
    else:
        if fh.read(1) and cut is not None:
            cut.note = f"only the first {HISTORY_LIMIT} bytes were read"
    if pending:
        yield number + 1, _decode(pending, shell)


def _decode(line: bytes, shell: str) -> str:
    if shell == "zsh":
        line = unmetafy(line)
    return line.decode("utf-8", "replace").rstrip("\r")


def _parse(lines: Iterable[Tuple[int, str]], shell: str) -> _Parsed:
    """The installer invocations of one history file, within :data:`MAX_PARSED` lines.

    Only lines naming an installer are parsed (a cheap pattern picks them); past
    :data:`MAX_PARSED` of those, the first and the last ``MAX_PARSED // 2`` are parsed (the
    oldest and the newest history) and a gap counts the rest.
    """
    entries = {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](lines)
    half, half_bytes = MAX_PARSED // 2, MAX_PARSED_BYTES // 2
    head: List[Entry] = []
    tail: Deque[Entry] = deque()
    head_bytes = tail_bytes = candidates = 0
    for entry in entries:
        if not _INSTALLERS.search(entry[2]):
            continue
        candidates += 1
        if len(entry[2]) > MAX_COMMAND:
            entry = (entry[0], entry[1], entry[2][:MAX_COMMAND])
        if len(head) < half and head_bytes + len(entry[2]) <= half_bytes:
            head.append(entry)
            head_bytes += len(entry[2])
            continue
        tail.append(entry)
        tail_bytes += len(entry[2])
        while len(tail) > half or tail_bytes > half_bytes:
            tail_bytes -= len(tail.popleft()[2])
    left_out = None
    if candidates > len(head) + len(tail):
        left_out = (
            f"{candidates} lines name an installer; the first {len(head)} and the last "
            f"{len(tail)} were parsed (at most {half} and {half_bytes} bytes each), "
            f"{candidates - len(head) - len(tail)} were not"
        )
    hits: List[_Hit] = []
    for line, epoch, command in (*head, *tail):
        hits.extend((line, epoch, hit) for hit in parse_command(command))
    return hits, left_out


_META = re.compile(rb"\x83[\s\S]?")
_UNMETA = {bytes([0x83, b]): bytes([b ^ 0x20]) for b in range(256)}


def unmetafy(data: bytes) -> bytes:
    """Undo zsh's history "metafication" (``0x83`` then the byte XOR ``0x20``; a last lone
    ``0x83`` is dropped). One regex pass, not a Python loop over every byte."""
    if b"\x83" not in data:
        return data
    return _META.sub(lambda m: _UNMETA.get(m.group(), b""), data)


Entry = Tuple[int, Optional[float], str]
"""(line number, epoch or None, command text)."""


def _bash(lines: Iterable[Tuple[int, str]]) -> Iterator[Entry]:
    epoch: Optional[float] = None
    for number, line in lines:
        stamp = _BASH_TIME.match(line)
        if stamp:
            epoch = float(stamp.group(1))
            continue
        yield number, epoch, line
        epoch = None


def _zsh(lines: Iterable[Tuple[int, str]]) -> Iterator[Entry]:
    epoch: Optional[float] = None
    continued = False
    for number, line in lines:
        match = _ZSH_EXTENDED.match(line)
        if match and not continued:
            epoch, command = float(match.group(1)), match.group(2)
        elif continued:
            command = line
        else:
            epoch, command = None, line
        continued = line.endswith("\\")
        yield number, epoch, command.rstrip("\\")


def _fish(lines: Iterable[Tuple[int, str]]) -> Iterator[Entry]:
    pending: Optional[Tuple[int, str]] = None
    for number, line in lines:
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
