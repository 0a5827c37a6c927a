"""A minimal, pure-Python stand-in for the parts of psutil sitesweep uses, read from ``/proc``.

Only the deployable agent installs it (as ``sys.modules["psutil"]``), and only where the real
psutil cannot be imported (it is compiled, and the agent runs with no site-packages). It reads
``/proc`` like psutil does and runs nothing. What it cannot give is stated in the bundle manifest
(``reduced_checks``): network connections of processes and the interface addresses.
"""

from __future__ import annotations

import contextlib
import os
import types
from typing import Any, Dict, Iterator, List

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Error(Exception):
    """Base of the stand-in's errors (``psutil.Error``)."""


class NoSuchProcess(Error):  # noqa: N818 - psutil's name
    """The process is gone."""


class AccessDenied(Error):  # noqa: N818 - psutil's name
    """The kernel refused to tell."""


class ZombieProcess(NoSuchProcess):
    """The process is a zombie."""


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20)
    except FileNotFoundError as exc:
        raise NoSuchProcess(path) from exc
    except PermissionError as exc:
        raise AccessDenied(path) from exc
    except ProcessLookupError as exc:
        raise NoSuchProcess(path) from exc


def boot_time() -> float:
    """Boot time from ``/proc/stat`` (``btime``)."""
    for line in _read("/proc/stat").decode("ascii", "replace").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def net_if_addrs() -> Dict[str, List[Any]]:
    """Interface addresses need ioctls or netlink: not available without psutil."""
    raise OSError("interface addresses are not readable without psutil")


class Process:
    """One process, read from ``/proc/<pid>``."""

    def __init__(self, pid: int) -> None:
        """Remember the pid."""
        self.pid = pid
        self._base = f"/proc/{pid}"

    def _stat(self) -> List[str]:
        raw = _read(f"{self._base}/stat").decode("utf-8", "replace")
        close = raw.rfind(")")
        return [raw[raw.find("(") + 1 : close], *raw[close + 2 :].split()]

    def _link(self, name: str) -> str:
        try:
            return os.readlink(f"{self._base}/{name}")  # noqa: PTH115 - str paths like psutil
        except FileNotFoundError as exc:
            raise NoSuchProcess(self.pid) from exc
        except PermissionError as exc:
            raise AccessDenied(self.pid) from exc

    def name(self) -> str:
        """The command name."""
        return self._stat()[0]

    def ppid(self) -> int:
        """The parent's pid."""
        return int(self._stat()[2])

    def username(self) -> str:
        """The real user's name (the uid as text when it has no name)."""
        for line in _read(f"{self._base}/status").decode("utf-8", "replace").splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                try:
                    import pwd  # POSIX only: the stand-in serves Linux's /proc

                    return pwd.getpwuid(uid).pw_name
                except KeyError:
                    return str(uid)
        raise AccessDenied(self.pid)

    def exe(self) -> str:
        """The executable's path."""
        return self._link("exe")

    def cwd(self) -> str:
        """The working directory."""
        return self._link("cwd")

    def cmdline(self) -> List[str]:
        """The arguments."""
        raw = _read(f"{self._base}/cmdline")
        return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]

    def create_time(self) -> float:
        """Start time, epoch seconds."""
        return boot_time() + int(self._stat()[20]) / _CLOCK_TICKS

    def net_connections(self, kind: str = "inet") -> List[Any]:
        """Sockets need /proc/net parsing per inode: not done without psutil."""
        raise AccessDenied(self.pid)

    connections = net_connections

    @contextlib.contextmanager
    def oneshot(self) -> Iterator[None]:
        """psutil's caching context; nothing to cache here."""
        yield


def process_iter() -> Iterator[Process]:
    """Every process listed in ``/proc``."""
    try:
        names = os.listdir("/proc")  # noqa: PTH208 - pid names only
    except OSError as exc:  # macOS, Windows: no /proc; never report "no processes"
        raise Error(f"processes not readable without psutil here (no /proc: {exc})") from exc
    for name in sorted(names, key=lambda n: (len(n), n)):
        if name.isdigit():
            yield Process(int(name))


def as_module() -> types.ModuleType:
    """This stand-in as a module object to register under the name ``psutil``."""
    module = types.ModuleType("psutil", __doc__)
    for name in (
        "Error",
        "NoSuchProcess",
        "AccessDenied",
        "ZombieProcess",
        "Process",
        "boot_time",
        "net_if_addrs",
        "process_iter",
    ):
        setattr(module, name, globals()[name])
    return module


__all__ = ["Process", "as_module", "boot_time", "process_iter"]
