"""Snapshot of every running process (live scans only). The only module that imports psutil.

Reads what the kernel reports about processes; never signals, attaches to or runs anything. A
process whose details are denied or that exits during the snapshot becomes a coverage gap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Tuple, TypeVar

import psutil

from sitesweep.host.model import Connection, ProcessInfo
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.redact import redact_argv

AREA = "processes"
_DELETED = " (deleted)"
_T = TypeVar("_T")


class _Reader:
    """Reads one process's attributes, remembering which ones were denied."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.denied: List[str] = []
        self.why: List[str] = []

    def get(self, name: str, call: Callable[[], _T], default: _T) -> _T:
        try:
            return call()
        except psutil.AccessDenied as exc:
            self.denied.append(name)
            if getattr(exc, "msg", None):  # e.g. the agent's stand-in: a table over its budget
                self.why.append(f"{name}: {exc.msg}")
        except psutil.ZombieProcess:
            self.denied.append(name)
        return default


def _exe_deleted(pid: int) -> bool:
    """Whether the kernel marks the executable as unlinked (Linux ``/proc/<pid>/exe``)."""
    try:
        return str(Path(f"/proc/{pid}/exe").readlink()).endswith(_DELETED)
    except OSError:
        return False


def _connections(proc: psutil.Process) -> Tuple[Connection, ...]:
    method = getattr(proc, "net_connections", None) or proc.connections
    found = []
    for conn in method(kind="inet"):
        remote = conn.raddr
        if remote:
            found.append(Connection(str(remote.ip), int(remote.port), str(conn.status)))
    return tuple(sorted(set(found), key=lambda c: (c.remote_ip, c.remote_port, c.status)))


def _snapshot(proc: psutil.Process) -> Tuple[ProcessInfo, Tuple[str, ...]]:
    """Read one process and say why attributes were denied where psutil said; raises
    psutil.NoSuchProcess when it vanished."""
    read = _Reader(proc)
    with proc.oneshot():
        name = read.get("name", proc.name, "")
        ppid: Optional[int] = read.get("ppid", proc.ppid, None)
        user: Optional[str] = read.get("user", proc.username, None)
        exe: Optional[str] = read.get("exe", proc.exe, None)
        empty: List[str] = []
        cmdline = tuple(read.get("cmdline", proc.cmdline, empty))
        cwd: Optional[str] = read.get("cwd", proc.cwd, None)
        created: Optional[float] = read.get("create_time", proc.create_time, None)
        none: Tuple[Connection, ...] = ()
        conns = read.get("connections", lambda: _connections(proc), none)
    info = ProcessInfo(
        pid=proc.pid,
        ppid=ppid,
        name=name,
        user=user,
        exe=exe or None,
        cmdline=redact_argv(cmdline),  # what leaves the host never holds a password
        cwd=cwd or None,
        create_time=created,
        exe_deleted=_exe_deleted(proc.pid),
        connections=conns,
        denied=tuple(read.denied),
    )
    return info, tuple(read.why)


def collect_processes(
    root: HostRoot, gaps: List[Gap], enabled: bool = True
) -> Tuple[ProcessInfo, ...]:
    """Snapshot every process of the running system.

    Args:
        root: the scanned host; anything but the live system yields nothing and a gap.
        gaps: receives a ``live_only`` gap when skipped, and one gap per process whose details
            were denied (``permission_denied``) or that exited while read (``vanished``).
        enabled: whether to collect at all (the caller may turn it off).

    Returns:
        The processes, ordered by pid.
    """
    if not root.is_live or not enabled:
        why = "processes are only visible on a live scan" if not root.is_live else "disabled"
        gaps.append(Gap(AREA, None, GapReason.LIVE_ONLY, why))
        return ()
    found: List[ProcessInfo] = []
    for proc in psutil.process_iter():
        where = HostPath(f"/proc/{proc.pid}")
        try:
            info, reasons = _snapshot(proc)
        except psutil.NoSuchProcess:
            gaps.append(Gap(AREA, where, GapReason.VANISHED, "process exited during the snapshot"))
            continue
        except psutil.Error as exc:  # any other per-process failure is a gap, not a stop
            gaps.append(Gap(AREA, where, GapReason.OS_ERROR, f"{type(exc).__name__}: {exc}"))
            continue
        if info.denied:
            detail = "; ".join((f"access denied to {', '.join(info.denied)}", *reasons))
            gaps.append(Gap(AREA, where, GapReason.PERMISSION_DENIED, detail))
        found.append(info)
    return tuple(sorted(found, key=lambda p: p.pid))
