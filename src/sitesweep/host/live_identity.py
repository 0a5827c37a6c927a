"""Identity facts only the running system can give: boot time and network addresses.

Live scans only (a mounted image has no running kernel); read with psutil, which reads
``/proc`` and the kernel's interface list and runs nothing.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import List, Optional, Tuple


@dataclass(frozen=True)
class LiveHost:
    """The running host's boot time and addresses.

    Attributes:
        boot_time: UTC epoch seconds of the last boot, ``None`` when unreadable.
        addresses: ``interface=address`` for every IPv4 and IPv6 address, sorted.
    """

    boot_time: Optional[float]
    addresses: Tuple[str, ...]


def read_live_host() -> LiveHost:
    """Ask the running kernel; a fact that cannot be read is left empty, never raised."""
    import psutil  # only a live scan's bundle asks: ``--root`` scans never import psutil

    try:
        boot: Optional[float] = float(psutil.boot_time())
    except (OSError, RuntimeError):
        boot = None
    found: List[str] = []
    try:
        interfaces = psutil.net_if_addrs()
    except (OSError, RuntimeError):
        interfaces = {}
    for name, addrs in interfaces.items():
        found.extend(
            f"{name}={a.address}" for a in addrs if a.family in (socket.AF_INET, socket.AF_INET6)
        )
    return LiveHost(boot, tuple(sorted(found)))
