"""The door to a directory tree (a mounted image under ``--root``, or the live ``/``).

Every question is asked through a chain of directory descriptors that starts at the root, never
through a path the kernel resolves from ``/`` on the scanning machine:

- a directory is opened with ``openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`` where the kernel
  has it (Linux 5.6+): the kernel resolves every link as if the root were ``/``;
- elsewhere each component is opened relative to its parent (``O_DIRECTORY | O_NOFOLLOW``) and a
  link is read and resolved here, inside the root (an absolute target restarts at the root, ``..``
  stops there), at most :data:`~sitesweep.door.base.MAX_SYMLINK_HOPS` links;
- the last component is taken relative to its parent's descriptor: ``lstat`` first (a special file
  is never opened), then ``open(O_NOFOLLOW)``, then ``fstat`` must name the same device and inode.

Resolved directories are remembered as open descriptors (at most :data:`DIR_CACHE_SIZE`), not as
paths: a directory swapped for a symlink after it was resolved is not followed, the descriptor
still names the directory that was there (one removed since, ``st_nlink`` 0, is resolved again,
so a vanished directory is reported as such). Platforms without ``dir_fd`` support (Windows)
keep real paths as handles, checked with ``lstat`` at each step; there the last-moment swap is
bounded by the same ``lstat``/``fstat`` comparison only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections import OrderedDict, deque
from typing import Deque, Iterator, List, Optional, Union

from sitesweep.door import openat2
from sitesweep.door.base import (
    DIR,
    FILE,
    LINK,
    MAX_SYMLINK_HOPS,
    OTHER,
    Listed,
    host_error,
    parts,
    split_host,
)
from sitesweep.errors import HostReadError
from sitesweep.model import GapReason, HostPath

__all__ = ["DIR_CACHE_SIZE", "DirectoryDoor", "FdFile", "file_kind"]

DIR_CACHE_SIZE = 256
"""Resolved directories kept open by one door (least recently used closed first)."""

Handle = Union[int, str]
"""A directory: an open descriptor, or (without ``dir_fd`` support) its checked real path."""

_AT = (
    os.open in os.supports_dir_fd
    and os.stat in os.supports_dir_fd
    and os.readlink in os.supports_dir_fd
    and os.scandir in os.supports_fd
)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | _DIRECTORY | _CLOEXEC
_LIST_FLAGS = os.O_RDONLY | _DIRECTORY | _CLOEXEC
_FILE_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NOCTTY", 0)
)
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_PATH_MAX = 4000
"""Longer host paths are resolved component by component (the kernel refuses a path over 4096)."""
_RESOLVE = openat2.RESOLVE_IN_ROOT | openat2.RESOLVE_NO_MAGICLINKS


class FdFile:
    """A regular file opened by descriptor."""

    __slots__ = ("_fd", "size")

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size

    def read(self, size: int) -> bytes:
        return os.read(self._fd, size)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DirectoryDoor:
    """A door backend serving a directory as the host's ``/``.

    Args:
        root: the real (already resolved) path of the directory; ``/`` is the live system.
    """

    fork_safe = True
    """Its descriptors may be used by a forked worker too (:mod:`sitesweep.apart`): directories
    are resolved with ``openat`` (no file offset), and a directory is listed through a new
    descriptor except right after it was opened, by the process that opened it."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.is_live = root == "/"
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, Handle] = OrderedDict()
        self._root: Handle = root
        if _AT:
            self._root = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        self.uses_openat2 = isinstance(self._root, int) and openat2.available(self._root)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            for handle in self._cache.values():
                _close(handle)
            self._cache.clear()
            if isinstance(self._root, int) and self._root >= 0:
                os.close(self._root)
                self._root = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing to report to
            self.close()

    # -- the door ------------------------------------------------------------------------------

    def lstat(self, host: str) -> os.stat_result:
        head, name = split_host(host)
        with self._lock:
            try:
                if head is None:
                    return _fstat(self._dir(host, verify=True))
                return _lstat_at(self._dir(head), name)
            except OSError as exc:
                raise host_error(host, exc) from exc

    def readlink(self, host: str) -> str:
        head, name = split_host(host)
        with self._lock:
            try:
                if head is None:
                    raise OSError(errno.EINVAL, "not a symbolic link")
                return _readlink_at(self._dir(head), name)
            except OSError as exc:
                raise host_error(host, exc) from exc

    def scandir(self, host: str, follow: bool = True, inode: int = 0) -> List[Listed]:
        key = _key(host)
        head, _, name = key.rpartition("/")
        with self._lock:
            try:
                if follow or name in ("", ".."):
                    return _list(self._dir(host, verify=True))
                parent = self._cache.get(head) if head else self._root
                if parent is None:
                    parent = self._dir(head)
                elif head:
                    self._cache.move_to_end(head)
                try:
                    handle = _opendir_at(parent, name, _LIST_FLAGS)
                except OSError as exc:
                    if _is_link(parent, name):
                        detail = "replaced by a symbolic link during the scan: not followed"
                        raise HostReadError(host, GapReason.VANISHED, detail) from exc
                    raise
                try:
                    _check_same(parent, name, handle, inode)
                except BaseException:
                    _close(handle)
                    raise
                self._remember(key, handle)  # its children resolve through it
                return _list(handle, opened=True)
            except OSError as exc:
                raise host_error(host, exc) from exc

    def open(self, host: str, follow: bool, seen: Optional[os.stat_result] = None) -> FdFile:
        head, name = split_host(host)
        with self._lock:
            try:
                if head is None:
                    st = _fstat(self._dir(host))
                    raise HostReadError(host, GapReason.SPECIAL_FILE, _not_regular(st))
                parent = self._dir(head)
                if seen is not None and stat.S_ISREG(seen.st_mode):
                    return _open_seen(host, parent, name, seen)
                st = _lstat_at(parent, name)
                if stat.S_ISLNK(st.st_mode):
                    if not follow:
                        detail = "symbolic link: not followed"
                        raise HostReadError(host, GapReason.SPECIAL_FILE, detail)
                    head, name = split_host(self.resolve(host))
                    if head is None:
                        st = _fstat(self._dir(host))
                        raise HostReadError(host, GapReason.SPECIAL_FILE, _not_regular(st))
                    parent = self._dir(head)
                    st = _lstat_at(parent, name)
                    if stat.S_ISLNK(st.st_mode):
                        detail = "symlink cannot be resolved"
                        raise HostReadError(host, GapReason.SYMLINK_LOOP, detail)
                if not stat.S_ISREG(st.st_mode):
                    raise HostReadError(host, GapReason.SPECIAL_FILE, _not_regular(st))
                return _same_file(host, _open_file(parent, name), st)
            except OSError as exc:
                raise host_error(host, exc) from exc

    def resolve(self, host: str) -> HostPath:
        names: List[str] = []
        stack: List[Handle] = [self._root]
        pending = deque(parts(host))
        hops = 0
        with self._lock:
            try:
                while pending:
                    part = pending.popleft()
                    if part == "..":
                        if names:
                            names.pop()
                            _close(stack.pop())
                        continue
                    try:
                        st = _lstat_at(stack[-1], part)
                    except OSError:
                        names.append(part)
                        break
                    if stat.S_ISLNK(st.st_mode):
                        hops += 1
                        self._follow(host, hops, stack, names, part, pending)
                        continue
                    names.append(part)
                    if not (pending and stat.S_ISDIR(st.st_mode)):
                        break
                    try:
                        stack.append(_opendir_at(stack[-1], part))
                    except OSError:
                        break
            finally:
                for handle in stack[1:]:
                    _close(handle)
        names.extend(pending)
        return HostPath("/" + "/".join(names))

    def _follow(
        self,
        host: str,
        hops: int,
        stack: List[Handle],
        names: List[str],
        link: str,
        pending: Deque[str],
    ) -> None:
        """Replace the link ``link`` (in ``stack[-1]``) by its target's components."""
        if hops > MAX_SYMLINK_HOPS:
            raise HostReadError(host, GapReason.SYMLINK_LOOP, "too many levels of symbolic links")
        try:
            target = _readlink_at(stack[-1], link)
        except OSError as exc:
            raise host_error(host, exc) from exc
        if target.startswith("/"):
            while names:
                names.pop()
                _close(stack.pop())
        pending.extendleft(reversed(parts(target)))

    # -- resolved directories --------------------------------------------------------------------

    def _dir(self, host: str, verify: bool = False) -> Handle:
        """The directory ``host`` names, every link resolved inside the root (borrowed handle:
        valid while the lock is held).

        A remembered directory is used as it is to reach a child (a removed directory has none
        left); ``verify`` (the directory itself is asked about) first checks it was not removed.
        """
        key = _key(host)
        if not key:
            return self._root
        handle = self._cache.get(key)
        if handle is not None:
            if not verify or _fstat(handle).st_nlink:
                self._cache.move_to_end(key)
                return handle
            del self._cache[key]  # removed since: what is there now is resolved again
            _close(handle)
        handle = None
        if self.uses_openat2 and len(key) < _PATH_MAX and isinstance(self._root, int):
            handle = openat2.openat2(self._root, key, _DIR_FLAGS, _RESOLVE)
        if handle is None:  # no openat2, or deeper than one path may be: component by component
            handle = self._from_cached_parent(key.split("/"))
        self._remember(key, handle)
        return handle

    def _from_cached_parent(self, comps: List[str]) -> Handle:
        if ".." not in comps:
            for i in range(len(comps) - 1, 0, -1):
                base = self._cache.get("/".join(comps[:i]))
                if base is not None:
                    got = self._descend(base, comps[i:], from_cache=True)
                    if got is not None:
                        return got
                    break
        got = self._descend(self._root, comps, from_cache=False)
        if got is None:  # only a walk from a remembered directory gives up
            raise OSError(errno.EAGAIN, "directory could not be resolved")
        return got

    def _descend(self, base: Handle, comps: List[str], from_cache: bool) -> Optional[Handle]:
        """Open the directory ``comps`` names below ``base``, one component at a time.

        From a remembered directory (``from_cache``) a link or a ``..`` gives up (``None``):
        they are resolved again from the root, where the chain of directories is known.
        """
        stack: List[Handle] = [base]
        pending = deque(comps)
        hops = 0
        try:
            while pending:
                part = pending.popleft()
                if part == "..":
                    if len(stack) > 1:
                        _close(stack.pop())
                    elif from_cache:
                        return None
                    continue
                try:
                    stack.append(_opendir_at(stack[-1], part))
                    continue
                except OSError as exc:
                    if not _is_link(stack[-1], part):
                        raise
                    if from_cache:
                        return None
                    hops += 1
                    if hops > MAX_SYMLINK_HOPS:
                        raise OSError(errno.ELOOP, "too many levels of symbolic links") from exc
                    target = _readlink_at(stack[-1], part)
                if target.startswith("/"):
                    while len(stack) > 1:
                        _close(stack.pop())
                pending.extendleft(reversed(parts(target)))
            return stack.pop() if len(stack) > 1 else _dup(stack[0])
        finally:
            for handle in stack[1:]:
                _close(handle)

    def _remember(self, key: str, handle: Handle) -> None:
        cache = self._cache
        if key in cache:
            old = cache.pop(key)
            if old != handle:
                _close(old)
        cache[key] = handle
        if len(self._cache) > DIR_CACHE_SIZE:
            _close(self._cache.popitem(last=False)[1])


# -- handle primitives ---------------------------------------------------------------------------


def _path(directory: str, name: str) -> str:
    return os.path.join(directory, name)  # noqa: PTH118 - a checked real path, as a string


def _close(handle: Handle) -> None:
    if isinstance(handle, int):
        os.close(handle)


def _dup(handle: Handle) -> Handle:
    return os.dup(handle) if isinstance(handle, int) else handle


def _fstat(handle: Handle) -> os.stat_result:
    return os.fstat(handle) if isinstance(handle, int) else os.lstat(handle)


def _lstat_at(handle: Handle, name: str) -> os.stat_result:
    if isinstance(handle, int):
        return os.lstat(name, dir_fd=handle)
    return os.lstat(_path(handle, name))


def _readlink_at(handle: Handle, name: str) -> str:
    if isinstance(handle, int):
        return os.readlink(name, dir_fd=handle)
    return os.readlink(_path(handle, name))  # noqa: PTH115


def _is_link(handle: Handle, name: str) -> bool:
    try:
        return stat.S_ISLNK(_lstat_at(handle, name).st_mode)
    except OSError:
        return False


def _opendir_at(handle: Handle, name: str, flags: int = _DIR_FLAGS) -> Handle:
    """Open the directory ``name`` in ``handle``, never through a symlink."""
    if isinstance(handle, int):
        return os.open(name, flags | _NOFOLLOW, dir_fd=handle)
    path = _path(handle, name)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise OSError(errno.ELOOP, "symbolic link", path)
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
    return path


def _open_file(handle: Handle, name: str) -> int:
    where, dir_fd = (name, handle) if isinstance(handle, int) else (_path(handle, name), None)
    try:
        return os.open(where, _FILE_FLAGS | _O_NOATIME, dir_fd=dir_fd)
    except PermissionError:
        if not _O_NOATIME:
            raise
        # O_NOATIME needs ownership or CAP_FOWNER; retry without it.
        return os.open(where, _FILE_FLAGS, dir_fd=dir_fd)


_CHANGED = "changed while being opened: not the file lstat saw"


def _open_seen(host: str, parent: Handle, name: str, seen: os.stat_result) -> FdFile:
    """Open ``name`` in ``parent``, the regular file the caller's ``lstat`` saw (``seen``): no
    ``lstat`` again; a link there now is not followed (``O_NOFOLLOW``), and ``fstat`` must give
    the device and inode ``seen`` gave, and a regular file."""
    try:
        fd = _open_file(parent, name)
    except OSError as exc:
        if exc.errno == errno.ELOOP or _is_link(parent, name):  # replaced by a link since
            raise HostReadError(host, GapReason.VANISHED, _CHANGED) from exc
        raise
    return _same_file(host, fd, seen)


def _same_file(host: str, fd: int, seen: os.stat_result) -> FdFile:
    """``fd`` as a file to read if ``fstat`` gives the device and inode of the ``lstat`` taken
    before it was opened (``seen``) and a regular file; else it is closed: ``VANISHED``."""
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (seen.st_dev, seen.st_ino) or not stat.S_ISREG(
        after.st_mode
    ):
        os.close(fd)
        raise HostReadError(host, GapReason.VANISHED, _CHANGED)
    return FdFile(fd, after.st_size)


def _check_same(parent: Handle, name: str, handle: Handle, inode: int) -> None:
    """Refuse a directory that is not the one the caller listed (``inode``, when given)."""
    if not inode:
        return
    opened = _fstat(handle)
    if opened.st_ino == inode:
        return
    # A mount point lists the inode below the mount: ask lstat, which sees the mounted root.
    seen = _lstat_at(parent, name)
    if (seen.st_dev, seen.st_ino) != (opened.st_dev, opened.st_ino):
        raise OSError(errno.ENOENT, "changed while being opened: not the directory listed")


def _list(handle: Handle, opened: bool = False) -> List[Listed]:
    """List a directory: ``(name, kind, inode)`` per entry, typed while it is open.

    ``opened``: ``handle`` was opened readable (not ``O_PATH``) and is listed directly.
    """
    if isinstance(handle, int):
        fd = handle if opened else os.open(".", _LIST_FLAGS, dir_fd=handle)
        try:
            with os.scandir(fd) as it:
                return _typed(it)
        finally:
            if not opened:
                os.close(fd)
    with os.scandir(handle) as it:
        return _typed(it)


def _typed(entries: Iterator[os.DirEntry[str]]) -> List[Listed]:
    """Type each entry while its directory is open (the walk's hot loop: kept flat)."""
    listed: List[Listed] = []
    append = listed.append
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                append((entry.name, FILE, 0))
            elif entry.is_dir(follow_symlinks=False):
                append((entry.name, DIR, entry.inode()))
            elif entry.is_symlink():
                append((entry.name, LINK, 0))
            else:
                append((entry.name, OTHER, 0))
        except OSError:  # gone between the listing and its type being asked (no d_type)
            append((entry.name, OTHER, 0))
    return listed


def _key(host: str) -> str:
    """A host path as the key of a remembered directory (no leading, doubled or final ``/``)."""
    if (
        host[:1] != "/"
        or host[-1:] == "/"
        or "//" in host
        or "/./" in host
        or "/../" in host
        or host.endswith(("/.", "/.."))
    ):
        return "/".join(parts(host))
    return host[1:]


def file_kind(st: os.stat_result) -> str:
    """Name the kind of a file that is not regular."""
    mode = st.st_mode
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
    ):
        if test(mode):
            return name
    return "special file"


def _not_regular(st: os.stat_result) -> str:
    return f"not a regular file ({file_kind(st)})"
