"""A child process holding real sockets, for the tests of the agent's connection reading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

CHILD = r"""
import json, socket, sys
held = []
info = {"ipv6": False}
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(4)
info["tcp4_listen"] = listener.getsockname()[1]
client = socket.create_connection(("127.0.0.1", info["tcp4_listen"]))
server, _ = listener.accept()
info["tcp4_client"] = client.getsockname()[1]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
info["udp4"] = udp.getsockname()[1]
udp_client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp_client.connect(("127.0.0.1", info["udp4"]))
info["udp4_client"] = udp_client.getsockname()[1]
held += [listener, client, server, udp, udp_client]
try:
    six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    six.bind(("::1", 0))
    six.listen(4)
    info["tcp6_listen"] = six.getsockname()[1]
    client6 = socket.create_connection(("::1", info["tcp6_listen"]))
    server6, _ = six.accept()
    mapped = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    mapped.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    mapped.bind(("::ffff:127.0.0.1", 0))
    mapped.listen(4)
    info["mapped_listen"] = mapped.getsockname()[1]
    client4 = socket.create_connection(("127.0.0.1", info["mapped_listen"]))
    server_mapped, _ = mapped.accept()
    udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp6.bind(("::1", 0))
    info["udp6"] = udp6.getsockname()[1]
    held += [six, client6, server6, mapped, client4, server_mapped, udp6]
    info["ipv6"] = True
except OSError as exc:
    info["ipv6_error"] = str(exc)
print(json.dumps(info), flush=True)
sys.stdin.read()
"""


class NetChild:
    """The running child: its pid and the ports it holds (see ``CHILD``)."""

    def __init__(self, proc: subprocess.Popen[bytes], info: Dict[str, Any]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.info = info


def start_net_child(python: Path = Path(sys.executable)) -> Iterator[NetChild]:
    """Run the child until the generator is closed (a fixture body)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("/proc/net is Linux")
    proc = subprocess.Popen(
        [str(python), "-I", "-S", "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the socket child did not start"
        yield NetChild(proc, json.loads(line))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
