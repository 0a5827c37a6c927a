"""The seam behind :class:`~sitesweep.hostfs.HostRoot`: what a door backend must answer.

A backend serves one host filesystem (a mounted directory or the live ``/``, an OCI image read
from its tar layers, later a disk image) in host terms: every path it takes is a host path, every
answer is about the host's files, and nothing it does may touch a file outside what it serves.
Callers never see a backend; they use :class:`~sitesweep.hostfs.HostRoot`.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Callable, List, NamedTuple, Optional, Protocol, Sequence, Tuple, TypeVar

from sitesweep.errors import HostReadError
from sitesweep.model import GapReason, HostPath

__all__ = [
    "DIR",
    "FILE",
    "KEPT_DIR",
    "KEPT_FILE",
    "KEPT_OTHER",
    "LINK",
    "MAX_SYMLINK_HOPS",
    "OTHER",
    "Door",
    "HostEntry",
    "Listed",
    "OpenFile",
    "PackageListing",
    "gap_reason_for",
    "host_error",
    "listing_of",
    "regular_node",
    "split_host",
]

MAX_SYMLINK_HOPS = 40
"""Same bound as the Linux kernel: more hops means a loop."""

FILE, DIR, LINK, OTHER = stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK, 0


class HostEntry(NamedTuple):
    """One entry of a host directory, typed when it was listed (links are never followed).

    Attributes:
        name: the entry's name.
        kind: :data:`FILE`, :data:`DIR`, :data:`LINK` or :data:`OTHER` (FIFO, socket, device).
        inode: the inode number the listing gave (0 where the backend has none).
    """

    name: str
    kind: int
    inode: int = 0

    def is_dir(self, *, follow_symlinks: bool = False) -> bool:
        """Return whether this is a directory (a link to one is a link: never followed)."""
        _no_follow(follow_symlinks)
        return self.kind == DIR

    def is_file(self, *, follow_symlinks: bool = False) -> bool:
        """Return whether this is a regular file (a link to one is a link: never followed)."""
        _no_follow(follow_symlinks)
        return self.kind == FILE

    def is_symlink(self) -> bool:
        """Return whether this is a symbolic link."""
        return self.kind == LINK


def _no_follow(follow: bool) -> None:
    if follow:
        raise TypeError("a listed entry is never followed: resolve its path through HostRoot")


Listed = Tuple[str, int, int]
"""One listed entry as a backend gives it: name, kind (:data:`FILE` ...), inode (0: unknown)."""


PackageListing = Tuple[int, Tuple[str, ...], bytes]
"""What the walk kept of a directory (``WalkSpec`` says which): its number of entries, the names
it kept, sorted as :meth:`~sitesweep.hostfs.HostRoot.listdir` sorts them, and their kinds (one
byte per name: :data:`KEPT_DIR`, :data:`KEPT_FILE` or :data:`KEPT_OTHER`). A listing that keeps
as many names as there are entries is whole."""

KEPT_DIR, KEPT_FILE, KEPT_OTHER = ord("d"), ord("f"), ord("o")


def listing_of(entries: Sequence[HostEntry]) -> PackageListing:
    """The whole :data:`PackageListing` of a sorted listing (``HostRoot.listdir``)."""
    kinds = bytes(
        KEPT_DIR if e.kind == DIR else KEPT_FILE if e.kind == FILE else KEPT_OTHER for e in entries
    )
    return len(entries), tuple(e.name for e in entries), kinds


class OpenFile(Protocol):
    """A regular host file opened for reading; ``size`` is its size when it was opened."""

    size: int

    def read(self, size: int) -> bytes:
        """Return up to ``size`` bytes (fewer at the end; empty once at the end)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


class Door(Protocol):
    """A backend of the host door. Every method takes host paths (``/etc/passwd``).

    Symlinks are resolved as the scanned host would resolve them, confined to what the backend
    serves: an absolute target starts again at the host's ``/``, ``..`` stops there.
    """

    is_live: bool
    """Whether this is the running system (processes, mounts and the like can be asked)."""

    def lstat(self, host: str) -> os.stat_result:
        """``lstat`` of ``host`` (its parents resolved inside the root; a final link itself)."""
        ...

    def scandir(self, host: str, follow: bool = True, inode: int = 0) -> List[Listed]:
        """List a directory (in no particular order): ``(name, kind, inode)`` per entry.

        Args:
            host: the directory.
            follow: whether a final symlink is followed (inside the root); the walk says no.
            inode: the inode the caller's listing gave for it (0: unknown); a directory whose
                device and inode differ from what ``lstat`` says when it is opened is refused.
        """
        ...

    def readlink(self, host: str) -> str:
        """A symlink's target as stored (never resolved on the scanning machine)."""
        ...

    def open(self, host: str, follow: bool, seen: Optional[os.stat_result] = None) -> OpenFile:
        """Open a regular file: a final symlink is resolved inside the root when ``follow``,
        refused (``SPECIAL_FILE``) otherwise; anything but a regular file is refused before it
        is opened.

        ``seen``: the caller's own :meth:`lstat` of ``host``, just taken, of a regular file. The
        backend need not ask again: it opens the final component without following it and
        refuses (``VANISHED``) what is not that file (another device or inode, a link or
        anything but a regular file now). A ``seen`` that is not a regular file is ignored.
        """
        ...

    def resolve(self, host: str) -> HostPath:
        """Resolve every symlink in ``host`` inside the root; a missing tail is kept as given.

        Raises:
            HostReadError: a loop (more than :data:`MAX_SYMLINK_HOPS` links).
        """
        ...

    def close(self) -> None:
        """Release what the backend holds open."""
        ...


class _Typed(Protocol):
    kind: int


_N = TypeVar("_N", bound=_Typed)


def regular_node(host: str, follow: bool, node_of: Callable[[bool], _N]) -> _N:
    """What ``Door.open`` of an in-memory tree may read (the image doors share this).

    Args:
        host: the path asked for.
        follow: whether a final symlink is resolved (inside the root); refused otherwise.
        node_of: the backend's lookup of ``host``, its final link followed or not.

    Raises:
        HostReadError: a link not followed or not resolvable, or anything but a regular file.
    """
    node = node_of(False)
    if node.kind == LINK:
        if not follow:
            raise HostReadError(host, GapReason.SPECIAL_FILE, "symbolic link: not followed")
        node = node_of(True)
        if node.kind == LINK:
            raise HostReadError(host, GapReason.SYMLINK_LOOP, "symlink cannot be resolved")
    if node.kind != FILE:
        kind = "directory" if node.kind == DIR else "special file"
        raise HostReadError(host, GapReason.SPECIAL_FILE, f"not a regular file ({kind})")
    return node


def gap_reason_for(exc: OSError) -> GapReason:
    """Map an OS error to the coverage-gap reason a responder reads."""
    if isinstance(exc, PermissionError):
        return GapReason.PERMISSION_DENIED
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return GapReason.VANISHED
    if exc.errno == errno.ELOOP:
        return GapReason.SYMLINK_LOOP
    return GapReason.OS_ERROR


def host_error(host: str, exc: OSError) -> HostReadError:
    """The :class:`HostReadError` (a coverage gap) an OS error on ``host`` becomes."""
    return HostReadError(host, gap_reason_for(exc), exc.strerror or str(exc))


def split_host(host: str) -> Tuple[Optional[str], str]:
    """Split a host path into its parent and last name.

    Returns ``(None, host)`` when the path names a directory by its form (``/``, a trailing
    ``/``, a last ``.`` or ``..``): such a path is resolved whole.
    """
    head, _, tail = host.rpartition("/")
    if tail in ("", ".", ".."):
        return None, host
    return head or "/", tail


def parts(host: str) -> List[str]:
    """The components of a host path, empty ones and ``.`` dropped (``..`` kept)."""
    return [p for p in host.split("/") if p and p != "."]
