"""A minimal, pure-Python stand-in for the parts of psutil sitesweep uses, read from ``/proc``.

Only the deployable agent installs it (as ``sys.modules["psutil"]``), and only where the real
psutil cannot be imported (it is compiled, and the agent runs with no site-packages). It reads
``/proc`` like psutil does and runs nothing. On Linux it gives what the collectors ask:

- the process attributes (name, ppid, user, exe, cwd, cmdline, start time);
- a process's internet sockets (``net_connections(kind="inet")``), as psutil finds them: the
  socket inodes of ``/proc/PID/fd/*`` looked up in the kernel's tables, read from
  ``/proc/PID/net/{tcp,tcp6,udp,udp6}`` (the process's own network namespace; psutil reads
  ``/proc/net``, the reader's namespace, so for a process in another namespace, a container,
  it finds none of its sockets where this finds them). Each table is read line by line with a
  budget of :data:`TABLE_LINE_BUDGET` lines; a longer table, a malformed line or a missing
  table is ``AccessDenied`` with a message saying so (the collector records a gap), never a
  silently short answer;
- interface addresses (``net_if_addrs``) for IPv4 (``SIOCGIFCONF`` and ``SIOCGIFNETMASK``,
  ``SIOCGIFFLAGS``, ``SIOCGIFBRDADDR``, ``SIOCGIFDSTADDR`` by ``fcntl.ioctl``) and IPv6
  (``/proc/net/if_inet6``). Unlike psutil it gives no link-layer (``AF_PACKET``) entries, so an
  interface without an IP address is not listed, and a secondary IPv4 address sharing its
  interface's label is given that label's (primary) netmask and broadcast.

Elsewhere (no ``/proc``: macOS, Windows) processes are not read at all; the agent names what it
could not give in the bundle manifest (``reduced_checks``, see :func:`capabilities`).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import socket
import struct
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

TABLE_LINE_BUDGET = 250_000
"""Lines read from one socket table (``/proc/PID/net/tcp`` ...) before giving up with a gap."""

_LINE_BYTES = 1024
"""The longest table line read (the kernel's are about 150 bytes)."""

CONN_NONE = "NONE"
_TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}
"""The kernel's TCP states (``include/net/tcp_states.h``) by psutil's names."""

_TCP4 = ("tcp", socket.AF_INET, socket.SOCK_STREAM)
_TCP6 = ("tcp6", socket.AF_INET6, socket.SOCK_STREAM)
_UDP4 = ("udp", socket.AF_INET, socket.SOCK_DGRAM)
_UDP6 = ("udp6", socket.AF_INET6, socket.SOCK_DGRAM)
_KINDS = {
    "inet": (_TCP4, _TCP6, _UDP4, _UDP6),
    "inet4": (_TCP4, _UDP4),
    "inet6": (_TCP6, _UDP6),
    "tcp": (_TCP4, _TCP6),
    "tcp4": (_TCP4,),
    "tcp6": (_TCP6,),
    "udp": (_UDP4, _UDP6),
    "udp4": (_UDP4,),
    "udp6": (_UDP6,),
}
"""psutil's connection kinds, but for the UNIX sockets (``unix``, ``all``): no collector asks."""

pconn = collections.namedtuple("pconn", ("fd", "family", "type", "laddr", "raddr", "status"))
addr = collections.namedtuple("addr", ("ip", "port"))
snicaddr = collections.namedtuple("snicaddr", ("family", "address", "netmask", "broadcast", "ptp"))

_SIOCGIFCONF = 0x8912
_SIOCGIFFLAGS = 0x8913
_SIOCGIFDSTADDR = 0x8917
_SIOCGIFBRDADDR = 0x8919
_SIOCGIFNETMASK = 0x891B
_IFF_BROADCAST = 0x2
_IFF_POINTOPOINT = 0x10
_IFNAMSIZ = 16
_IFREQ_SIZE = 40 if struct.calcsize("P") == 8 else 32
"""``sizeof(struct ifreq)``: the name and a union as large as ``struct ifmap``."""


class Error(Exception):
    """Base of the stand-in's errors (``psutil.Error``); ``msg`` says why, as psutil's do."""

    def __init__(self, *args: object, msg: str = "") -> None:
        """Keep the arguments and the message."""
        super().__init__(*args, *((msg,) if msg else ()))
        self.msg = msg


class NoSuchProcess(Error):  # noqa: N818 - psutil's name
    """The process is gone."""


class AccessDenied(Error):  # noqa: N818 - psutil's name
    """The kernel refused to tell (or the stand-in could not read the answer in full)."""


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


def _decode_address(text: str, family: int) -> Any:
    """``0100007F:1F90`` -> ``addr("127.0.0.1", 8080)``; port 0 (nothing bound) -> ``()``.

    The kernel prints the address as 32-bit words in host byte order, as psutil decodes it.
    """
    ip_hex, _, port_hex = text.partition(":")
    port = int(port_hex, 16)
    if not port:
        return ()
    raw = bytes.fromhex(ip_hex)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return addr(socket.inet_ntop(family, raw), port)


def _table_lines(path: str, pid: int) -> Iterator[Tuple[int, bytes]]:
    """The numbered lines of one socket table after its header, within the line budget."""
    with open(path, "rb") as fh:
        fh.readline(_LINE_BYTES)
        for number in range(1, TABLE_LINE_BUDGET + 1):
            line = fh.readline(_LINE_BYTES)
            if not line:
                return
            yield number, line
        if fh.readline(1):
            why = f"{path} has more than {TABLE_LINE_BUDGET} lines: connections not read in full"
            raise AccessDenied(pid, msg=why)


def _inet_connections(
    pid: int, table: Tuple[str, int, int], inodes: Dict[str, int]
) -> Iterator[Any]:
    """The connections of ``table`` whose inode is one of the process's sockets."""
    name, family, kind = table
    path = f"/proc/{pid}/net/{name}"
    if name.endswith("6") and not Path(path).exists():
        return  # IPv6 disabled in this kernel or namespace, as psutil skips it
    for number, line in _table_lines(path, pid):
        fields = line.split()
        if len(fields) < 10 or b":" not in fields[1] or b":" not in fields[2]:
            raise AccessDenied(pid, msg=f"{path}: malformed line {number}: {line[:80]!r}")
        fd = inodes.get(fields[9].decode("ascii", "replace"))
        if fd is None:
            continue
        state = fields[3].decode("ascii", "replace").upper()
        status = _TCP_STATES.get(state, CONN_NONE) if kind == socket.SOCK_STREAM else CONN_NONE
        try:
            local = _decode_address(fields[1].decode("ascii"), family)
            remote = _decode_address(fields[2].decode("ascii"), family)
        except (ValueError, OSError) as exc:
            raise AccessDenied(pid, msg=f"{path}: bad address on line {number}") from exc
        yield pconn(fd, family, kind, local, remote, status)


def _ipv4_ioctl(sock: socket.socket, request: int, label: bytes) -> bytes:
    return _ioctl(sock.fileno(), request, label.ljust(_IFREQ_SIZE, b"\0"))


def _ioctl(fd: int, request: int, arg: Any) -> bytes:
    """``fcntl.ioctl`` (imported here: the module exists on POSIX only)."""
    import fcntl

    return bytes(fcntl.ioctl(fd, request, arg))


def _ipv4_addresses() -> Iterator[Tuple[str, Any]]:
    """(label, snicaddr) for every IPv4 address of the reader's network namespace."""
    import array

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        slots = 64
        while True:
            buf = array.array("B", bytes(_IFREQ_SIZE * slots))
            pointer, size = buf.buffer_info()
            ifconf = struct.pack("iP", size, pointer)
            used = struct.unpack("iP", _ioctl(sock.fileno(), _SIOCGIFCONF, ifconf))[0]
            if used < size or slots >= 1 << 16:
                break
            slots *= 4  # full: there may be more
        table = buf.tobytes()[:used]
        for start in range(0, used, _IFREQ_SIZE):
            entry = table[start : start + _IFREQ_SIZE]
            label = entry[:_IFNAMSIZ].split(b"\0", 1)[0]
            if struct.unpack("H", entry[16:18])[0] != socket.AF_INET:
                continue
            address = socket.inet_ntoa(entry[20:24])
            try:
                netmask = socket.inet_ntoa(_ipv4_ioctl(sock, _SIOCGIFNETMASK, label)[20:24])
                flags = struct.unpack("H", _ipv4_ioctl(sock, _SIOCGIFFLAGS, label)[16:18])[0]
                broadcast: Optional[str] = None
                ptp: Optional[str] = None
                if flags & _IFF_BROADCAST:
                    broadcast = socket.inet_ntoa(_ipv4_ioctl(sock, _SIOCGIFBRDADDR, label)[20:24])
                elif flags & _IFF_POINTOPOINT:
                    ptp = socket.inet_ntoa(_ipv4_ioctl(sock, _SIOCGIFDSTADDR, label)[20:24])
            except OSError as exc:
                if exc.errno in (errno.ENODEV, errno.ENXIO, errno.EADDRNOTAVAIL):
                    continue  # the interface or address went away since the list was taken
                raise
            name = label.decode("utf-8", "replace")
            yield name, snicaddr(socket.AF_INET, address, netmask, broadcast, ptp)


def _ipv6_addresses() -> Iterator[Tuple[str, Any]]:
    """(interface, snicaddr) for every IPv6 address in ``/proc/net/if_inet6`` (none if absent)."""
    try:
        fh = open("/proc/net/if_inet6", "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return  # IPv6 disabled: no IPv6 addresses, as psutil finds none
    with fh:
        for number in range(TABLE_LINE_BUDGET + 1):
            line = fh.readline(_LINE_BYTES)
            if not line:
                return
            if number == TABLE_LINE_BUDGET:
                raise OSError(f"/proc/net/if_inet6 has more than {TABLE_LINE_BUDGET} lines")
            fields = line.split()
            if len(fields) < 6 or len(fields[0]) != 32:
                raise OSError(f"/proc/net/if_inet6: malformed line {line[:80]!r}")
            raw = bytes.fromhex(fields[0].decode("ascii"))
            prefix = int(fields[2], 16)
            mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
            name = fields[5].decode("utf-8", "replace")
            address = socket.inet_ntop(socket.AF_INET6, raw)
            if raw[0] == 0xFE and raw[1] & 0xC0 == 0x80:  # link-local: scoped, as getnameinfo
                address = f"{address}%{name}"
            netmask = socket.inet_ntop(socket.AF_INET6, mask.to_bytes(16, "big"))
            yield name, snicaddr(socket.AF_INET6, address, netmask, None, None)


def net_if_addrs() -> Dict[str, List[Any]]:
    """Every interface's IPv4 and IPv6 addresses (Linux; ``OSError`` where unreadable)."""
    if not sys.platform.startswith("linux"):
        raise OSError(f"interface addresses are not readable without psutil on {sys.platform}")
    found: Dict[str, List[Any]] = {}
    for name, entry in (*_ipv4_addresses(), *_ipv6_addresses()):
        found.setdefault(name, []).append(entry)
    return found


def capabilities() -> Tuple[Optional[str], Optional[str]]:
    """Why connections, and why interface addresses, cannot be given here (``None``: they can).

    Tried on the agent's own process and namespace, so a missing ``/proc/PID/net`` or a refused
    ioctl is named rather than guessed.
    """
    connections: Optional[str] = None
    if not sys.platform.startswith("linux"):
        connections = f"no /proc on {sys.platform}"
    else:
        me = Process(os.getpid())
        try:
            me._socket_inodes()
            for name in ("tcp", "udp"):  # the agent may hold no socket: read the headers
                with open(f"{me._base}/net/{name}", "rb") as fh:
                    if b"local_address" not in fh.readline(_LINE_BYTES):
                        connections = f"{me._base}/net/{name} is not the kernel's table"
        except Error as exc:
            connections = f"not readable here: {exc.msg or exc}"
        except OSError as exc:
            connections = f"not readable here: {exc}"
    addresses: Optional[str] = None
    try:
        net_if_addrs()
    except OSError as exc:
        addresses = f"not readable here: {exc}"
    return connections, addresses


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
        """The executable's path; ``""`` for a kernel thread (no ``exe`` link), as psutil."""
        try:
            return self._link("exe")
        except NoSuchProcess:
            if Path(self._base).exists():
                return ""
            raise

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

    def _socket_inodes(self) -> Dict[str, int]:
        """Socket inode -> the lowest fd holding it, from ``/proc/PID/fd/*`` (as psutil)."""
        base = f"{self._base}/fd"
        try:
            names = os.listdir(base)  # noqa: PTH208 - fd numbers only
        except (FileNotFoundError, ProcessLookupError) as exc:
            raise NoSuchProcess(self.pid) from exc
        except PermissionError as exc:
            raise AccessDenied(self.pid) from exc
        inodes: Dict[str, int] = {}
        for name in sorted(names, key=lambda n: (len(n), n)):
            try:
                target = os.readlink(f"{base}/{name}")  # noqa: PTH115 - str paths like psutil
            except (FileNotFoundError, ProcessLookupError):
                continue  # closed meanwhile
            except PermissionError as exc:
                raise AccessDenied(self.pid) from exc
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.ENAMETOOLONG):
                    continue
                raise AccessDenied(self.pid, msg=f"{base}/{name}: {exc}") from exc
            if target.startswith("socket:[") and target.endswith("]"):
                inodes.setdefault(target[8:-1], int(name))
        return inodes

    def net_connections(self, kind: str = "inet") -> List[Any]:
        """The process's internet sockets, as psutil's ``pconn`` tuples (see the module doc)."""
        if kind not in _KINDS:
            raise ValueError(f"invalid kind {kind!r}; the stand-in gives {sorted(_KINDS)}")
        inodes = self._socket_inodes()
        if not inodes:
            return []
        found: List[Any] = []
        for table in _KINDS[kind]:
            try:
                found.extend(_inet_connections(self.pid, table, inodes))
            except (FileNotFoundError, ProcessLookupError) as exc:
                if not Path(f"{self._base}/stat").exists():
                    raise NoSuchProcess(self.pid) from exc
                why = f"{self._base}/net/{table[0]} is missing: connections not readable"
                raise AccessDenied(self.pid, msg=why) from exc
            except PermissionError as exc:
                raise AccessDenied(self.pid) from exc
        if not Path(self._base).exists():
            raise NoSuchProcess(self.pid)
        return list(dict.fromkeys(found))

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
        "pconn",
        "addr",
        "snicaddr",
        "CONN_NONE",
    ):
        setattr(module, name, globals()[name])
    return module


__all__ = ["Process", "as_module", "boot_time", "capabilities", "net_if_addrs", "process_iter"]
