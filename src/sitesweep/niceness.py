"""Be gentle on a production host: lower this process's CPU and I/O priority.

``--cpu-nice`` raises the nice value (:func:`os.nice`). ``--io-nice`` puts the process in the
Linux *idle* I/O scheduling class, so its disk reads wait for every other process's. Python has
no wrapper for ``ioprio_set(2)``: it is called through :mod:`ctypes` with the syscall number of
the running architecture. Where that cannot be done (not Linux, an architecture not in the
table, no libc, the kernel refuses), the functions say why instead of raising; the CLI reports
it and the scan runs at normal priority.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from typing import Optional, Protocol, cast

__all__ = [
    "IOPRIO_CLASS_IDLE",
    "IOPRIO_CLASS_SHIFT",
    "IOPRIO_WHO_PROCESS",
    "get_io_priority",
    "ioprio_syscalls",
    "lower_cpu_priority",
    "set_idle_io_priority",
]

IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_IDLE = 3

_SYSCALLS = {
    # machine: (ioprio_set, ioprio_get), from the kernel's syscall tables
    "x86_64": (251, 252),
    "amd64": (251, 252),
    "i386": (289, 290),
    "i686": (289, 290),
    "aarch64": (30, 31),
    "arm64": (30, 31),
    "riscv64": (30, 31),
    "armv7l": (314, 315),
    "ppc64le": (273, 274),
    "ppc64": (273, 274),
    "s390x": (282, 283),
}


def lower_cpu_priority(increment: int = 10) -> Optional[str]:
    """Raise this process's nice value by ``increment``; return why not, or ``None``."""
    try:
        os.nice(increment)
    except (OSError, AttributeError) as exc:  # AttributeError: no os.nice on this platform
        return f"CPU priority not lowered: {exc}"
    return None


def ioprio_syscalls(machine: Optional[str] = None) -> Optional[tuple[int, int]]:
    """Return the (ioprio_set, ioprio_get) syscall numbers of ``machine`` (default: this one)."""
    if not sys.platform.startswith("linux"):
        return None
    return _SYSCALLS.get((machine or platform.machine()).lower())


class _Syscall(Protocol):
    def __call__(self, number: int, *args: int) -> int: ...


def _syscall() -> Optional[_Syscall]:
    """Return libc's ``syscall(2)``, or ``None`` when the C library cannot be loaded."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    func = libc.syscall
    func.restype = ctypes.c_long
    return cast(_Syscall, func)


def set_idle_io_priority(machine: Optional[str] = None) -> Optional[str]:
    """Put this process in the idle I/O class; return why not, or ``None`` when done."""
    numbers = ioprio_syscalls(machine)
    if numbers is None:
        where = f"{sys.platform}/{machine or platform.machine()}"
        return f"I/O priority not lowered: no ioprio_set syscall known for {where}"
    syscall = _syscall()
    if syscall is None:
        return "I/O priority not lowered: the C library cannot be loaded"
    value = IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT
    if syscall(numbers[0], IOPRIO_WHO_PROCESS, 0, value) != 0:
        return f"I/O priority not lowered: ioprio_set failed ({os.strerror(ctypes.get_errno())})"
    return None


def get_io_priority() -> Optional[int]:
    """Return this process's raw I/O priority (class << 13 | level), or ``None`` if unknown."""
    numbers = ioprio_syscalls()
    syscall = _syscall() if numbers is not None else None
    if numbers is None or syscall is None:
        return None
    value = int(syscall(numbers[1], IOPRIO_WHO_PROCESS, 0))
    return None if value < 0 else value
