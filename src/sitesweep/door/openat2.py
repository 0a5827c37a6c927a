"""``openat2(2)`` with ``RESOLVE_IN_ROOT``, through ``ctypes`` (pure standard library).

The kernel resolves the whole path as if ``dir_fd`` were ``/``: absolute symlinks and ``..``
stay below it, so a directory swapped for a link during the scan cannot lead out of the root.
Available on Linux 5.6 and later; :func:`available` says whether this process may call it (a
seccomp filter in a container may refuse it), and callers fall back to resolving each component
themselves.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
from typing import Any, Optional

__all__ = ["RESOLVE_IN_ROOT", "RESOLVE_NO_MAGICLINKS", "available", "openat2"]

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10

_NR_OPENAT2 = 437
"""The same number on every architecture with the unified syscall table (Linux 5.1 and later)."""
_MACHINES = frozenset(
    {"x86_64", "amd64", "aarch64", "arm64", "armv7l", "armv6l", "riscv64", "ppc64le", "s390x"}
)
_RETRIES = 8
"""``EAGAIN`` means a rename or mount raced the resolution; it is retried this many times."""


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


_syscall: Optional[Any] = None
_usable: Optional[bool] = None


def _load() -> Optional[Any]:
    if not sys.platform.startswith("linux") or platform.machine().lower() not in _MACHINES:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syscall
    except (OSError, AttributeError):
        return None
    call.restype = ctypes.c_long
    return call


def openat2(dir_fd: int, path: str, flags: int, resolve: int) -> int:
    """Open ``path`` relative to ``dir_fd`` with the given ``RESOLVE_*`` flags.

    Raises:
        OSError: as ``open`` does (``ENOSYS`` where the call does not exist).
    """
    call = _syscall if _usable is not None else _load()
    if call is None:
        raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS), path)
    how = _OpenHow(flags, 0, resolve)
    raw = os.fsencode(path)
    for _ in range(_RETRIES):
        fd = call(
            ctypes.c_long(_NR_OPENAT2),
            ctypes.c_long(dir_fd),
            ctypes.c_char_p(raw),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):
            raise OSError(err, os.strerror(err), path)
    raise OSError(errno.EAGAIN, "resolution kept racing a rename or mount", path)


def available(probe_fd: int) -> bool:
    """Return whether ``openat2`` works in this process (probed once, on ``probe_fd``)."""
    global _syscall, _usable
    if _usable is None:
        _syscall = _load()
        _usable = False
        if _syscall is not None:
            try:
                flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
                os.close(openat2(probe_fd, ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS))
                _usable = True
            except OSError:
                _usable = False
    return _usable
