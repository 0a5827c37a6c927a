"""The only door to the scanned filesystem.

:class:`HostRoot` answers in host terms (paths as the scanned system sees them) through one
backend (:class:`~sitesweep.door.base.Door`): a directory tree (the live ``/`` or a mounted image
under ``--root``, :class:`~sitesweep.door.directory.DirectoryDoor`) or an image read where it lies.
Symlinks resolve *inside* the root (an absolute link in a mounted image points into the image,
never at the analyst's own ``/etc``), every directory is reached through descriptors from the root
(a directory swapped for a link during the scan is not followed), and files are read safely:
regular files only, never a FIFO or a device, ``O_NOFOLLOW`` + ``O_NONBLOCK``, ``fstat`` checked
against the ``lstat`` taken before opening, bounded sizes, and ``O_NOATIME`` where allowed so
reading evidence does not change its access time.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Union

from sitesweep.door.base import (
    MAX_SYMLINK_HOPS,
    Door,
    HostEntry,
    Listed,
    OpenFile,
    gap_reason_for,
    host_error,
)
from sitesweep.door.directory import DirectoryDoor
from sitesweep.errors import HostReadError, RootError
from sitesweep.model import GapReason, HostPath

__all__ = [
    "MAX_SYMLINK_HOPS",
    "Digest",
    "FileInfo",
    "HostEntry",
    "HostRoot",
    "Opened",
    "gap_reason_for",
    "read_to_end",
]

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


class HostRoot:
    """A scanned filesystem: the live ``/``, a directory holding a host's tree, or an image.

    Args:
        root: the directory that stands for the host's ``/``; ``None`` means the live system.
        door: another backend (an image) instead of a directory; ``root`` then names the image
            file for messages.
    """

    def __init__(self, root: Optional[Path] = None, door: Optional[Door] = None) -> None:
        self._prefix: Optional[str]
        if door is not None:
            self.root = Path(root or "/")
            self._prefix = None
            self._door = door
        else:
            real = "/" if root is None else os.path.realpath(root)
            if not os.path.isdir(real):
                raise RootError(f"scan root {root} is not a directory")
            self.root = Path(real)
            self._prefix = "" if real == "/" else real
            try:
                self._door = DirectoryDoor(real)
            except OSError as exc:
                raise RootError(f"scan root {root} cannot be opened: {exc.strerror}") from exc
        self.is_live = self._door.is_live

    @classmethod
    def image(cls, path: Path) -> HostRoot:
        """An image as the host, its kind told by its bytes (:func:`sitesweep.door.sniff.sniff`):
        a container image (OCI layout directory, OCI archive or ``docker save`` tarball) or a
        disk image (raw, split raw, qcow2, VMDK, VHD, VHDX, E01; the ``images`` extra).

        Raises:
            ImageError: the image cannot be read (see :func:`sitesweep.door.oci.open_image`
                and :func:`sitesweep.door.disk.open_disk`).
        """
        from sitesweep.door.oci import ImageError, open_image
        from sitesweep.door.sniff import OCI, sniff

        try:
            found = sniff(path)
        except OSError as exc:
            raise ImageError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
        if found is not None and found.kind != OCI:
            from sitesweep.door.disk import open_disk

            return cls(path, door=open_disk(path, found.kind, found.why))
        try:
            return cls(path, door=open_image(path))
        except ImageError as exc:
            if found is not None:
                raise
            raise ImageError(
                f"{exc} (nor a disk image: no qcow2, VMDK, VHD/VHDX, E01, partition table or "
                "filesystem signature in its first sectors)"
            ) from exc

    @property
    def door(self) -> Door:
        """The backend behind this root (an image's door tells which layer wrote a file)."""
        return self._door

    def close(self) -> None:
        """Release what the door holds open (also done when the object is collected)."""
        self._door.close()

    # -- path mapping -------------------------------------------------------------------------

    def real(self, host: str) -> Path:
        """Return the real path for a host path, without resolving any symlink.

        Only a directory root has real paths; never open one (read through the door).

        Raises:
            ValueError: the root is not a directory on this machine.
        """
        if self._prefix is None:
            raise ValueError(f"{self.root} is not a directory: its files have no real path")
        return Path(self._prefix + "/" + host.lstrip("/") if self._prefix else host)

    def host(self, real: Union[str, Path]) -> HostPath:
        """Return the host path for a real path under a directory root.

        Raises:
            ValueError: ``real`` is outside the root (or the root is not a directory).
        """
        text = os.fspath(real)
        if self._prefix is None:
            raise ValueError(f"{text} is outside the scanned image {self.root}")
        if not self._prefix:
            return HostPath(text)
        if text == self._prefix:
            return HostPath("/")
        if not text.startswith(self._prefix + "/"):
            raise ValueError(f"{text} is outside the scan root {self._prefix}")
        return HostPath(text[len(self._prefix) :])

    def resolve_host(self, host: str) -> HostPath:
        """Resolve every symlink in ``host`` as the scanned host would, confined to the root.

        A missing tail is kept as given (``/srv/nowhere/a`` stays that).

        Raises:
            HostReadError: on a symlink loop (more than :data:`MAX_SYMLINK_HOPS` links).
        """
        return self._door.resolve(host)

    def resolve(self, host: str) -> Path:
        """:meth:`resolve_host` as a real path (a directory root only; prefer ``resolve_host``)."""
        return self.real(self._door.resolve(host))

    # -- metadata -----------------------------------------------------------------------------

    def lstat(self, host: str) -> FileInfo:
        """Return ``lstat`` facts for a host path (the link itself if it is a symlink).

        Parent directories resolve inside the root: a parent that is a link to the analyst's
        own directories is never followed there.
        """
        return _info(HostPath(host), self._door.lstat(host))

    def stat_result(self, host: str) -> os.stat_result:
        """The raw ``lstat`` of a host path (device and inode included), as :meth:`lstat`."""
        return self._door.lstat(host)

    def readlink(self, host: str) -> str:
        """Return a symlink's target as stored (host terms; never resolved on this machine)."""
        return self._door.readlink(host)

    def listdir(self, host: str) -> List[HostEntry]:
        """List a directory's entries, sorted by name; a final symlink resolves inside the root.

        Entries are typed when listed and never followed (``entry.is_dir()`` is false for a
        link to a directory).
        """
        return sorted(HostEntry(*e) for e in self._door.scandir(host, True))

    def scandir(self, host: str, inode: int = 0) -> List[Listed]:
        """List a directory the walk found: ``(name, kind, inode)`` per entry, unsorted.

        Refused if it is now a symlink or not the directory listed with ``inode``; its children
        then resolve through it."""
        return self._door.scandir(host, False, inode)

    # -- content ------------------------------------------------------------------------------

    def read_bytes(self, host: str, limit: int) -> bytes:
        """Read a whole regular file of at most ``limit`` bytes (a final link resolves inside
        the root).

        Raises:
            HostReadError: the file is not regular, larger than ``limit``, unreadable or gone.
        """
        with self._open(host, True) as fh:
            return read_to_end(host, fh, limit, fh.size)

    def read_text(self, host: str, limit: int) -> str:
        """Read a regular file as UTF-8 text; undecodable bytes are kept as surrogate escapes."""
        return self.read_bytes(host, limit).decode("utf-8", "surrogateescape")

    def read_head(self, host: str, limit: int) -> bytes:
        """The first ``limit`` bytes of a regular file, however large it is (never ``TOO_LARGE``).

        Raises:
            HostReadError: the file is not regular, unreadable or gone.
        """
        chunks: List[bytes] = []
        total = 0
        with self._open(host, True) as fh:
            while total < limit:
                chunk = fh.read(min(_CHUNK, limit - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        return b"".join(chunks)

    def digest(
        self,
        host: str,
        limit: int,
        sink: Optional[Callable[[bytes], None]] = None,
        seen: Optional[os.stat_result] = None,
    ) -> Digest:
        """Stream a regular file of at most ``limit`` bytes through SHA-256 (and ``sink``).

        ``sink``, when given, is called with every chunk hashed, in order: a caller that needs
        to look at a large file's content reads it once. ``seen``: the :meth:`stat_result` the
        caller just took of ``host`` (see :meth:`open_nofollow`).
        """
        sha = hashlib.sha256()
        total = 0
        with self._open(host, True, seen) as fh:
            want = min(fh.size + 1, _CHUNK)  # see read_to_end: one call for a small file
            while True:
                chunk = fh.read(want)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise HostReadError(host, GapReason.TOO_LARGE, f"larger than {limit} bytes")
                sha.update(chunk)
                if sink is not None:
                    sink(chunk)
                if len(chunk) < want and total == fh.size:
                    break
                want = _CHUNK
        return Digest(sha.hexdigest(), total)

    def open_file(self, host: str) -> Opened:
        """Open a regular file for reading, to stream it (a final symlink resolves inside the
        root, as for :meth:`read_bytes`). Use the result in a ``with`` block.

        Raises:
            HostReadError: not a regular file (``SPECIAL_FILE``), unreadable or gone.
        """
        return self._open(host, True)

    def open_nofollow(self, host: str, seen: Optional[os.stat_result] = None) -> Opened:
        """Open a regular file for reading without following its final symlink.

        Parent directories resolve inside the root; the last component is taken as it is: a
        symlink or a special file is refused before any ``open`` (``O_NOFOLLOW``), and
        ``fstat`` checks that what was opened is what ``lstat`` saw. Use the result in a
        ``with`` block (it closes the file); its ``size`` is the size when it was opened.

        ``seen``: the :meth:`stat_result` of ``host`` the caller just took, of a regular file;
        it is that ``lstat`` (not asked again), and the file opened must be the one it saw
        (the same device and inode, still regular), else ``VANISHED``.

        Raises:
            HostReadError: a symlink or not a regular file (``SPECIAL_FILE``), unreadable or gone.
        """
        return self._open(host, False, seen)

    def _open(self, host: str, follow: bool, seen: Optional[os.stat_result] = None) -> Opened:
        return Opened(host, self._door.open(host, follow, seen))


class Opened:
    """An open host file, closed on exit from a ``with`` block."""

    def __init__(self, host: str, file: OpenFile) -> None:
        self.host = host
        self._file = file
        self.size = file.size
        """The size the file had when it was opened."""

    def read(self, size: int) -> bytes:
        """Read up to ``size`` bytes.

        Raises:
            HostReadError: the read failed.
        """
        try:
            return self._file.read(size)
        except OSError as exc:
            raise host_error(self.host, exc) from exc

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def read_to_end(host: str, fh: Union[int, Opened], limit: int, size: int) -> bytes:
    """Read ``fh`` (an open host file or a descriptor) to its end, expecting ``size`` bytes.

    The first read asks for one byte more than ``size``: a short read that ends where ``size``
    said is the end, so an unchanged file takes one read call, not two. A file that grew is read
    on until an empty read (so are files of ``/proc``, which say size 0 and return short reads
    before their end); one that shrank ends early. Never returns more than ``limit`` bytes.

    Raises:
        HostReadError: more than ``limit`` bytes (``TOO_LARGE``), or a read failed.
    """
    read = fh.read if isinstance(fh, Opened) else _fd_reader(host, fh)
    chunks: list[bytes] = []
    total = 0
    want = min(size, limit) + 1
    while True:
        chunk = read(want)
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


def _fd_reader(host: str, fd: int) -> Callable[[int], bytes]:
    def read(size: int) -> bytes:
        try:
            return os.read(fd, size)
        except OSError as exc:
            raise host_error(host, exc) from exc

    return read


def _info(path: HostPath, st: os.stat_result) -> FileInfo:
    return FileInfo(path, st.st_size, st.st_mode, st.st_uid, st.st_gid, st.st_mtime, st.st_ctime)
