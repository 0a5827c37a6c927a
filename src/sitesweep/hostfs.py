"""The only door to the scanned filesystem.

:class:`HostRoot` maps host paths (as the scanned system sees them) to real paths on the scanning
machine and back, resolves symlinks *inside* the root (an absolute link in a mounted image points
into the image, never at the analyst's own ``/etc``), and reads files safely: regular files only,
never a FIFO or a device, ``O_NOFOLLOW`` + ``O_NONBLOCK``, bounded sizes, and ``O_NOATIME`` where
allowed so reading evidence does not change its access time.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from sitesweep.errors import HostReadError, RootError
from sitesweep.model import GapReason, HostPath

MAX_SYMLINK_HOPS = 40
"""Same bound as the Linux kernel: more hops means a loop."""
DIR_CACHE_SIZE = 1 << 16
"""Resolved directories remembered by one :class:`HostRoot` (the cache is emptied when full)."""
_CACHED_DEPTH = 64
"""Parent directories resolved through the cache, recursively; deeper ones resolve in full."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_Lstat = Union[os.stat_result, OSError, None]
"""An ``lstat`` taken while resolving: its result, the error it raised, or none taken."""
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileInfo:
    """What ``lstat`` says about a host file, in host terms."""

    path: HostPath
    size: int
    mode: int
    uid: int
    gid: int
    mtime: float
    ctime: float

    @property
    def is_regular(self) -> bool:
        """Return whether this is a regular file."""
        return stat.S_ISREG(self.mode)


@dataclass(frozen=True)
class Digest:
    """SHA-256 and size of a file's content."""

    sha256: str
    size: int


def gap_reason_for(exc: OSError) -> GapReason:
    """Map an OS error to the coverage-gap reason a responder reads."""
    if isinstance(exc, PermissionError):
        return GapReason.PERMISSION_DENIED
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return GapReason.VANISHED
    if exc.errno == errno.ELOOP:
        return GapReason.SYMLINK_LOOP
    return GapReason.OS_ERROR


class HostRoot:
    """A scanned filesystem: the live ``/`` or a directory holding a host's tree.

    Args:
        root: the directory that stands for the host's ``/``; ``None`` means the live system.
    """

    def __init__(self, root: Optional[Path] = None) -> None:
        self.is_live = root is None or os.path.realpath(root) == "/"
        real = Path("/") if root is None else Path(os.path.realpath(root))
        if not real.is_dir():
            raise RootError(f"scan root {root} is not a directory")
        self.root = real
        self._prefix = "" if self.is_live else str(real)
        self._dirs: Dict[str, str] = {}

    # -- path mapping -------------------------------------------------------------------------

    def real(self, host: str) -> Path:
        """Return the real path for a host path, without resolving any symlink."""
        return Path(self._real(host))

    def _real(self, host: str) -> str:
        return self._prefix + "/" + host.lstrip("/") if self._prefix else host

    def host(self, real: Union[str, Path]) -> HostPath:
        """Return the host path for a real path under the root."""
        text = os.fspath(real)
        if not self._prefix:
            return HostPath(text)
        if text == self._prefix:
            return HostPath("/")
        if not text.startswith(self._prefix + "/"):
            raise ValueError(f"{text} is outside the scan root {self._prefix}")
        return HostPath(text[len(self._prefix) :])

    def resolve(self, host: str) -> Path:
        """Resolve symlinks in ``host`` as the scanned host would, confined to the root.

        Resolution is compositional (``a/b/c`` resolves as ``resolve(a/b)`` joined with ``c``),
        so the resolved parent directory is remembered for the life of this object (at most
        :data:`DIR_CACHE_SIZE` of them): reading the many files of one directory costs one
        ``lstat`` each instead of one per path component. A scan is one pass over a tree it
        does not change; a directory swapped for a symlink during the scan is the same race as
        between resolving and opening, which ``O_NOFOLLOW`` and the regular-file checks bound.

        Raises:
            HostReadError: on a symlink loop (more than :data:`MAX_SYMLINK_HOPS` links).
        """
        return Path(self._resolve_cached(host, 0))

    def _resolve_cached(self, host: str, depth: int) -> str:
        return self._resolve_stat(host, depth)[0]

    def _resolve_stat(self, host: str, depth: int) -> Tuple[str, _Lstat]:
        """Resolve as :meth:`resolve` does; also return the ``lstat`` of the result (or the
        error it raised) when it was taken."""
        head, _, tail = host.rstrip("/").rpartition("/")
        if tail in ("", ".", "..") or depth > _CACHED_DEPTH:
            return self._resolve_full(host), None
        parent = self._dirs.get(head)
        if parent is None:
            parent = self._resolve_cached(head, depth + 1) if head else self._resolve_full("/")
            if len(self._dirs) >= DIR_CACHE_SIZE:
                self._dirs.clear()
            self._dirs[head] = parent
        candidate = os.path.join(parent, tail)
        try:
            st = os.lstat(candidate)
        except OSError as exc:
            return candidate, exc
        if stat.S_ISLNK(st.st_mode):
            return self._resolve_full(host), None
        return candidate, st

    def _resolve_full(self, host: str) -> str:
        """Resolve every component of ``host`` (no cache); see :meth:`resolve`."""
        if self.is_live:
            return os.path.realpath(host)
        pending = deque(p for p in host.split("/") if p)
        base = self._prefix
        parts: list[str] = []
        hops = 0
        while pending:
            part = pending.popleft()
            if part == ".":
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            candidate = "/".join((base, *parts, part))
            try:
                is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
            except OSError:
                parts.append(part)
                parts.extend(pending)
                break
            if not is_link:
                parts.append(part)
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise HostReadError(host, GapReason.SYMLINK_LOOP, "too many levels of symlinks")
            target = os.readlink(candidate)
            if target.startswith("/"):
                parts = []
            pending.extendleft(reversed([p for p in target.split("/") if p]))
        return "/".join((base, *parts)) if parts else base

    # -- metadata -----------------------------------------------------------------------------

    def lstat(self, host: str) -> FileInfo:
        """Return ``lstat`` facts for a host path (the link itself if it is a symlink)."""
        try:
            st = os.lstat(self._real(host))
        except OSError as exc:
            raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc
        return _info(HostPath(host), st)

    def readlink(self, host: str) -> str:
        """Return a symlink's target as stored (host terms; never resolved on this machine)."""
        try:
            return os.readlink(self._real(host))
        except OSError as exc:
            raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc

    def listdir(self, host: str) -> list[os.DirEntry[str]]:
        """List a directory's entries (not following a symlinked directory)."""
        real = self._real(host)
        try:
            if stat.S_ISLNK(os.lstat(real).st_mode):
                raise HostReadError(host, GapReason.SPECIAL_FILE, "directory is a symlink")
            with os.scandir(real) as it:
                return sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc

    # -- content ------------------------------------------------------------------------------

    def read_bytes(self, host: str, limit: int) -> bytes:
        """Read a whole regular file of at most ``limit`` bytes.

        Raises:
            HostReadError: the file is not regular, larger than ``limit``, unreadable or gone.
        """
        with self._open(host) as fd:
            return read_to_end(host, fd.fileno(), limit, fd.size)

    def read_text(self, host: str, limit: int) -> str:
        """Read a regular file as UTF-8 text; undecodable bytes are kept as surrogate escapes."""
        return self.read_bytes(host, limit).decode("utf-8", "surrogateescape")

    def digest(self, host: str, limit: int) -> Digest:
        """Stream a regular file of at most ``limit`` bytes through SHA-256."""
        sha = hashlib.sha256()
        total = 0
        with self._open(host) as fd:
            want = min(fd.size + 1, _CHUNK)  # see read_bytes: one call for a small file
            while True:
                chunk = _read(host, fd.fileno(), want)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise HostReadError(host, GapReason.TOO_LARGE, f"larger than {limit} bytes")
                sha.update(chunk)
                if len(chunk) < want and total == fd.size:
                    break
                want = _CHUNK
        return Digest(sha.hexdigest(), total)

    def open_nofollow(self, host: str) -> _Fd:
        """Open a regular file for reading without following its final symlink.

        Parent directories resolve inside the root (cached, as for :meth:`resolve`); the last
        component is taken as it is: one ``lstat`` refuses a symlink or a special file before
        any ``open`` (``O_NOFOLLOW``), and ``fstat`` checks what was opened. Use the result in a
        ``with`` block (it closes the descriptor); its ``size`` is the size ``fstat`` gave.

        Raises:
            HostReadError: a symlink or not a regular file (``SPECIAL_FILE``), unreadable or gone.
        """
        try:
            real = self._nofollow_path(host)
            st = os.lstat(real)
        except HostReadError as exc:  # a loop in a parent: name the file asked for
            raise HostReadError(host, exc.reason, exc.detail) from exc
        except OSError as exc:
            raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc
        if stat.S_ISLNK(st.st_mode):
            raise HostReadError(host, GapReason.SPECIAL_FILE, "symbolic link: not followed")
        return _open_regular(host, real, st)

    def _nofollow_path(self, host: str) -> str:
        """Return the real path of ``host`` with its parent resolved and its last part as is."""
        head, _, tail = host.rpartition("/")
        if tail in ("", ".", ".."):  # names a directory: the trailing "/" keeps it one
            return self._resolve_full(host) + "/"
        parent = self._dirs.get(head)
        if parent is None:
            parent = self._resolve_cached(head, 1) if head else self._resolve_full("/")
            if len(self._dirs) >= DIR_CACHE_SIZE:
                self._dirs.clear()
            self._dirs[head] = parent
        return parent + tail if parent.endswith("/") else f"{parent}/{tail}"

    def _open(self, host: str) -> _Fd:
        real, taken = self._resolve_stat(host, 0)
        try:
            if isinstance(taken, OSError):
                raise taken
            st = taken or os.lstat(real)
        except OSError as exc:
            raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc
        if stat.S_ISLNK(st.st_mode):
            raise HostReadError(host, GapReason.SYMLINK_LOOP, "symlink cannot be resolved")
        return _open_regular(host, real, st)


class _Fd:
    """A file descriptor closed on exit from a ``with`` block."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size
        """The size ``fstat`` gave when the file was opened."""

    def fileno(self) -> int:
        return self._fd

    def __enter__(self) -> _Fd:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)


def _open_regular(host: str, real: str, st: os.stat_result) -> _Fd:
    """Open ``real`` if ``st`` (its ``lstat``) says it is a regular file, and check it still is."""
    if not stat.S_ISREG(st.st_mode):
        raise HostReadError(host, GapReason.SPECIAL_FILE, f"not a regular file ({_kind(st)})")
    fd = _open_fd(host, real)
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode):
        os.close(fd)
        raise HostReadError(host, GapReason.SPECIAL_FILE, "changed into a special file")
    return _Fd(fd, after.st_size)


def read_to_end(host: str, fd: int, limit: int, size: int) -> bytes:
    """Read ``fd`` to its end, expecting ``size`` bytes (its ``fstat``); refuse over ``limit``.

    The first read asks for one byte more than ``size``: a short read that ends where ``size``
    said is the end, so an unchanged file takes one read call, not two. A file that grew is read
    on until an empty read (so are files of ``/proc``, which say size 0 and return short reads
    before their end); one that shrank ends early. Never returns more than ``limit`` bytes.

    Raises:
        HostReadError: more than ``limit`` bytes (``TOO_LARGE``), or a read failed.
    """
    chunks: list[bytes] = []
    total = 0
    want = min(size, limit) + 1
    while True:
        chunk = _read(host, fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise HostReadError(host, GapReason.TOO_LARGE, f"larger than {limit} bytes")
        if len(chunk) < want and total == size:
            break
        want = min(_CHUNK, limit + 1 - total)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _open_fd(host: str, real: str) -> int:
    try:
        try:
            return os.open(real, _OPEN_FLAGS | _O_NOATIME)
        except PermissionError:
            if not _O_NOATIME:
                raise
            # O_NOATIME needs ownership or CAP_FOWNER; retry without it.
            return os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc


def _read(host: str, fd: int, size: int) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc)) from exc


def _info(path: HostPath, st: os.stat_result) -> FileInfo:
    return FileInfo(path, st.st_size, st.st_mode, st.st_uid, st.st_gid, st.st_mtime, st.st_ctime)


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
    ):
        if test(mode):
            return name
    return "special file"
