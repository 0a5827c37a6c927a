"""Transient SSH failures (sshd's MaxStartups drops) are retried; one connection per host."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root

pytestmark = pytest.mark.ssh


class DroppingProxy:
    """A loopback TCP proxy to one sshd that closes its first ``drop`` connections at once,
    as sshd does past ``MaxStartups``; later ones are forwarded."""

    def __init__(self, target: int, drop: int) -> None:
        self.target = target
        self.drop = drop
        self.accepted = 0
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = int(self.server.getsockname()[1])
        self.threads: List[threading.Thread] = []
        self.sockets: List[socket.socket] = []
        """Every socket the proxy made, closed by :meth:`close` (not left to the collector)."""
        self.serving = threading.Thread(target=self._serve, daemon=True)
        self.serving.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.drop:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError):
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close every socket and end the accepting thread: a thread left alive would keep
        ``apart.can_fork`` false for every later test of the session (one thread only)."""
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        self.server.close()
        for sock in self.sockets:
            sock.close()
        self.serving.join(timeout=10)


@pytest.fixture
def proxy(ssh_lab: Lab) -> Iterator[DroppingProxy]:
    running = DroppingProxy(ssh_lab.ports["second"], drop=2)
    try:
        yield running
    finally:
        running.close()


def _config_with(lab: Lab, alias: str, port: int, target: Path) -> Path:
    """The lab's client config plus ``alias`` (a copy of the ``clean`` block on ``port``)."""
    text = lab.config.read_text()
    block = text.split("Host clean\n", 1)[1].split("Host ", 1)[0]
    lines = [ln for ln in block.splitlines() if not ln.strip().startswith("Port ")]
    target.write_text(text + f"Host {alias}\n" + "\n".join(lines) + f"\n  Port {port}\n")
    return target


def test_dropped_connections_are_retried_and_each_host_logs_in_once(
    ssh_lab: Lab,
    target_python: TargetPython,
    proxy: DroppingProxy,
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    clean = clean_root(tmp_path / "clean")
    config = _config_with(ssh_lab, "flaky", proxy.port, tmp_path / "ssh_config")
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(f"flaky sitesweep_root={clean.path} sitesweep_python={target_python.python}\n")
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(hosts),
        "--ssh-config",
        str(config),
        "--output",
        str(out),
        "--remote-tmp",
        str(tmp_path),
        "--timeout",
        "60",
    )
    assert run.code in (0, 3), run.err
    (entry,) = json.loads((out / "sweep.json").read_text())["hosts"]
    assert entry["status"] == "ok", entry
    assert "after 2 retried connection(s)" in entry["detail"]
    # Two dropped, then one connection carried every step (prepare, push, collect, fetch,
    # clean-up): multiplexed.
    assert proxy.accepted == 3
    assert not list(tmp_path.glob("sitesweep.*"))
