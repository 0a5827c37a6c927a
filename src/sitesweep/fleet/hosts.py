"""Hosts to sweep: ``[user@]host[:port]`` specs, host files, and the per-host settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from sitesweep.errors import SitesweepError

_SPEC = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]\s]+\]|[^:@\s\[\]]+)(?::(?P<port>\d+))?$"
)


class HostListError(SitesweepError):
    """A host list or inventory cannot be read or parsed."""


@dataclass(frozen=True)
class Host:
    """One target of a sweep.

    Attributes:
        name: how the host is called in reports (the inventory name or the spec).
        address: what ssh connects to (``ansible_host`` or the name).
        user: login user; ``None`` leaves it to ssh (``~/.ssh/config``).
        port: ssh port; ``None`` leaves it to ssh.
        root: directory on the target to scan as its ``/`` (a mounted image or container fs).
        python: interpreter to run the agent with on the target (started with ``-I -S``).
    """

    name: str
    address: str
    user: Optional[str] = None
    port: Optional[int] = None
    root: Optional[str] = None
    python: str = "python3"


def parse_host_spec(spec: str) -> Host:
    """Parse ``[user@]host[:port]`` (IPv6 in brackets: ``[::1]:2222``).

    Raises:
        HostListError: the spec is malformed.
    """
    text = spec.strip()
    match = _SPEC.match(text)
    if match is None:
        raise HostListError(f"not a host spec ([user@]host[:port]): {spec!r}")
    address = match.group("host").strip("[]")
    port = match.group("port")
    if address.startswith("-"):
        raise HostListError(f"a host name may not start with '-': {spec!r}")
    return Host(text, address, match.group("user"), int(port) if port else None)


def read_host_file(path: Path) -> Tuple[Host, ...]:
    """Read one ``[user@]host[:port]`` per line; blank lines and ``#`` comments are skipped.

    Raises:
        HostListError: the file is unreadable or a line is malformed.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HostListError(f"{path}: {exc}") from exc
    hosts: List[Host] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            hosts.append(parse_host_spec(text))
        except HostListError as exc:
            raise HostListError(f"{path}:{number}: {exc}") from exc
    return tuple(hosts)


def unique_hosts(hosts: Tuple[Host, ...]) -> Tuple[Host, ...]:
    """Drop repeated host names, keeping the first."""
    seen = set()
    kept = []
    for host in hosts:
        if host.name not in seen:
            seen.add(host.name)
            kept.append(host)
    return tuple(kept)
