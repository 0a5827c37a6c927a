"""Files staged in temporary directories: run-once sentinels, second stages, exfiltration archives.

Payloads leave traces where everyone may write: litellm's persistence kept the last URL it
fetched in ``/tmp/.pg_state`` and its second stage in ``/tmp/pglog``; TeamPCP packed stolen files
as ``tpcp.tar.gz`` beside ``payload.enc`` and ``session.key.enc``. This collector lists the top
level of each temporary directory (and one level into hidden subdirectories), and for each regular
file reads at most its first bytes: what kind of file it is (executable, script, archive, a note
holding a URL, an encrypted blob) and, for zip and tar archives, the member names (names only,
never content). The check (:mod:`sitesweep.checks.staging`) grades the shapes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Protocol, Sequence, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, HostPath, StrEnum
from sitesweep.redact import redact_url

AREA = "staging"
TEMP_DIRS: Tuple[str, ...] = (
    "/tmp", "/var/tmp", "/dev/shm", "/private/tmp", "/private/var/tmp", "/Windows/Temp",  # noqa: S108
)  # fmt: skip
"""System temporary directories (host paths; read, never written)."""
USER_TEMP = ("AppData/Local/Temp",)
"""Per-user temporary directories below a home."""
MAX_ENTRIES = 2000
"""Entries looked at per temporary directory."""
HEAD = 512
ARCHIVE_LIMIT = 32 << 20
"""Archives larger than this are typed by their head only (members not listed)."""
MAX_MEMBERS = 200
INFLATE_LIMIT = 64 << 20
"""Decompressed bytes read from one staged tar to list its members (a bomb stops here)."""
NOTE_LIMIT = 4096

_MAGIC: Tuple[Tuple[bytes, str], ...] = (
    (b"\x7fELF", "executable"), (b"MZ", "executable"), (b"\xfe\xed\xfa\xce", "executable"),
    (b"\xfe\xed\xfa\xcf", "executable"), (b"\xce\xfa\xed\xfe", "executable"),
    (b"\xcf\xfa\xed\xfe", "executable"), (b"#!", "script"), (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"\xfd7zXZ", "xz"), (b"BZh", "bzip2"),
    (b"Rar!", "rar"), (b"Salted__", "encrypted"),
)  # fmt: skip
_URL = re.compile(rb"\b(?:https?|ftp)://[^\s'\"]{1,200}")
_PYTHON = re.compile(rb"^(?:import |from \S+ import |exec\(|def |class )", re.MULTILINE)
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".rar", ".tar.xz", ".gz")
_ENCRYPTED_NAMES = re.compile(r"\.(?:enc|gpg|age|aes)$|^session\.key", re.IGNORECASE)


class StagedKind(StrEnum):
    """What a file in a temporary directory is."""

    EXECUTABLE = "executable"
    SCRIPT = "script"
    ARCHIVE = "archive"
    URL_NOTE = "url-note"
    ENCRYPTED = "encrypted"
    SENTINEL = "sentinel"
    OTHER = "other"


@dataclass(frozen=True)
class StagedFile:
    """A file in a temporary directory.

    Attributes:
        path: host path.
        kind: what it is, from its name and first bytes.
        hidden: whether its name (or the directory holding it) starts with a dot.
        size, mtime, mode, uid: from ``lstat``.
        members: member names of a zip or tar archive (at most :data:`MAX_MEMBERS`).
        url: the URL a small note holds (kept as written up to its host and path; redacted).
    """

    path: HostPath
    kind: StagedKind
    hidden: bool
    size: int
    mtime: float
    mode: int
    uid: int
    members: Tuple[str, ...] = ()
    url: Optional[str] = None


def _kind(name: str, head: bytes, size: int) -> StagedKind:
    for magic, label in _MAGIC:
        if head.startswith(magic):
            if label in ("executable", "script"):
                return StagedKind(label)
            return StagedKind.ENCRYPTED if label == "encrypted" else StagedKind.ARCHIVE
    lower = name.lower()
    if _ENCRYPTED_NAMES.search(lower):
        return StagedKind.ENCRYPTED
    if lower.endswith(_ARCHIVE_SUFFIXES):
        return StagedKind.ARCHIVE
    if size <= NOTE_LIMIT and _URL.search(head):
        return StagedKind.URL_NOTE
    if _PYTHON.search(head):
        return StagedKind.SCRIPT
    if size <= 64:
        return StagedKind.SENTINEL
    return StagedKind.OTHER


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Capped(io.RawIOBase):
    """A decompressed stream that ends after :data:`INFLATE_LIMIT` bytes."""

    def __init__(self, source: _Readable) -> None:
        self.source = source
        self.left = INFLATE_LIMIT

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise _SpentError
        data = self.source.read(min(len(buffer), self.left))
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


class _SpentError(Exception):
    """The inflate allowance of one archive is used up."""


def _decompressed(data: bytes) -> _Readable:
    import bz2
    import gzip
    import lzma

    raw = io.BytesIO(data)
    if data.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw)
    if data.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if data.startswith(b"\xfd7zXZ"):
        return lzma.LZMAFile(raw)
    return raw


def _members(data: bytes) -> Tuple[str, ...]:
    """Member names of a zip or (compressed) tar held in ``data``; none when it is neither.

    A compressed tar is read as a stream of at most :data:`INFLATE_LIMIT` decompressed bytes:
    skipping a member means inflating it, and an 18 KB bzip2 bomb whose first member is 6 GiB of
    zeros took 45 s (a 32 MiB one, most of a day). Names after the limit are not listed.
    """
    import tarfile  # imported here: a scan that stages nothing never loads them
    import zipfile

    names: List[str] = []
    try:
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()[:MAX_MEMBERS]
        else:
            stream = io.BufferedReader(_Capped(_decompressed(data)))
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    names.append(member.name)
                    if len(names) >= MAX_MEMBERS:
                        break
    except _SpentError:
        pass  # the names read before the allowance was spent
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError):
        if not names:
            return ()
    return tuple(n[:300] for n in names)


def _redacted_url(head: bytes) -> Optional[str]:
    found = _URL.search(head)
    if found is None:
        return None
    return redact_url(found.group(0).decode("utf-8", "replace"))


class _Lister:
    def __init__(self, root: HostRoot, exclude: Sequence[str]) -> None:
        self.root = root
        self.exclude = tuple(e.rstrip("/") for e in exclude)
        self.found: List[StagedFile] = []
        self.gaps: List[Gap] = []

    def directory(self, path: str, hidden: bool, depth: int) -> None:
        if any(path == e or path.startswith(e + "/") for e in self.exclude):
            return
        try:
            entries = self.root.listdir(path)
        except HostReadError:
            return  # absent on this OS, or unreadable (the walk records that gap)
        for entry in entries[:MAX_ENTRIES]:
            child = f"{path.rstrip('/')}/{entry.name}"
            dot = entry.name.startswith(".")
            if entry.is_dir() and dot and depth == 0 and not entry.name.startswith(".X"):
                self.directory(child, True, depth + 1)
            elif entry.is_file():
                self.file(child, entry.name, hidden or dot)

    def file(self, path: str, name: str, hidden: bool) -> None:
        try:
            info = self.root.lstat(path)
            with self.root.open_nofollow(path) as fd:
                head = fd.read(HEAD)
            kind = _kind(name, head, info.size)
            members: Tuple[str, ...] = ()
            if kind is StagedKind.ARCHIVE and info.size <= ARCHIVE_LIMIT:
                members = _members(self.root.read_bytes(path, ARCHIVE_LIMIT))
        except HostReadError as exc:
            self.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
            return
        url = _redacted_url(head) if kind is StagedKind.URL_NOTE else None
        self.found.append(
            StagedFile(
                HostPath(path),
                kind,
                hidden,
                info.size,
                info.mtime,
                info.mode,
                info.uid,
                members,
                url,
            )
        )


def collect_staging(
    root: HostRoot, homes: Sequence[str], exclude: Sequence[str] = ()
) -> Tuple[Tuple[StagedFile, ...], Tuple[Gap, ...]]:
    """List what is staged in the system and per-user temporary directories.

    Args:
        root: the scanned host.
        homes: host paths of the users' homes (their ``AppData/Local/Temp``).
        exclude: host paths not looked into (the bundle output, the test suite's own trees).
    """
    lister = _Lister(root, exclude)
    places = [*TEMP_DIRS, *(f"{h.rstrip('/')}/{t}" for h in homes for t in USER_TEMP)]
    for place in dict.fromkeys(places):
        lister.directory(place, False, 0)
    return tuple(sorted(lister.found, key=lambda f: f.path)), tuple(lister.gaps)
