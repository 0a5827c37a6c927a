"""The agent's /proc stand-in for psutil, checked against this process, real psutil and the
collector, on a child process holding real sockets."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, List, Set, Tuple

import psutil
import pytest

from fleet.netchild import NetChild, start_net_child
from sitesweep import agent, agent_psutil
from sitesweep.host import processes
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")

SRC = Path(agent_psutil.__file__).resolve().parents[1]
KINDS = ("inet", "inet4", "inet6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6")


@pytest.fixture(scope="module")
def net_child() -> Iterator[NetChild]:
    yield from start_net_child()


def _rows(conns: List[Any]) -> Set[Tuple[Any, ...]]:
    """Every field of every connection, by name, with the address tuples' field names too."""
    rows = set()
    for c in conns:
        fields = tuple((name, getattr(c, name)) for name in c._fields)
        shapes = tuple(getattr(a, "_fields", ()) for a in (c.laddr, c.raddr))
        rows.add((*fields, shapes, type(c.family), type(c.type)))
    return rows


def test_reads_this_process() -> None:
    me = agent_psutil.Process(os.getpid())
    assert me.ppid() == os.getppid()
    assert me.cmdline() == sys.orig_argv
    assert Path(me.exe()) == Path(sys.executable).resolve()
    assert Path(me.cwd()) == Path.cwd()
    assert 0 < agent_psutil.boot_time() <= me.create_time() <= time.time() + 1
    assert os.getpid() in {p.pid for p in agent_psutil.process_iter()}
    assert me.net_connections() == [] or all(c.fd >= 0 for c in me.net_connections())


def test_gone_process_is_no_such_process() -> None:
    with pytest.raises(agent_psutil.NoSuchProcess):
        agent_psutil.Process(2**22 + 12345).name()
    with pytest.raises(agent_psutil.NoSuchProcess):
        agent_psutil.Process(2**22 + 12345).net_connections()


def test_kernel_thread_is_listed_with_no_exe_as_psutil() -> None:
    threads = [p for p in psutil.process_iter() if p.pid > 2 and _ppid(p) == 2]
    if not threads:
        pytest.skip("no kernel threads visible here (a pid namespace)")
    assert agent_psutil.Process(threads[0].pid).exe() == threads[0].exe() == ""


def _ppid(proc: psutil.Process) -> int:
    try:
        return int(proc.ppid())
    except psutil.Error:
        return -1


def test_connections_equal_psutil_field_by_field(net_child: NetChild) -> None:
    ours = agent_psutil.Process(net_child.pid)
    real = psutil.Process(net_child.pid)
    for kind in KINDS:
        assert _rows(ours.net_connections(kind)) == _rows(real.net_connections(kind)), kind
    assert ours.connections == ours.net_connections  # the older name, as psutil keeps it
    found = ours.net_connections()
    assert len(found) == len(set(found))
    ports = net_child.info
    seen = {(tuple(c.laddr), tuple(c.raddr), c.status, c.family, c.type) for c in found}
    lo4, tcp, udp = "127.0.0.1", socket.SOCK_STREAM, socket.SOCK_DGRAM
    v4, v6 = socket.AF_INET, socket.AF_INET6
    listen4, client4 = (lo4, ports["tcp4_listen"]), (lo4, ports["tcp4_client"])
    assert (listen4, (), "LISTEN", v4, tcp) in seen
    assert (client4, listen4, "ESTABLISHED", v4, tcp) in seen
    assert (listen4, client4, "ESTABLISHED", v4, tcp) in seen
    assert ((lo4, ports["udp4"]), (), "NONE", v4, udp) in seen
    assert ((lo4, ports["udp4_client"]), (lo4, ports["udp4"]), "NONE", v4, udp) in seen
    if ports["ipv6"]:
        assert (("::1", ports["tcp6_listen"]), (), "LISTEN", v6, tcp) in seen
        mapped = ("::ffff:127.0.0.1", ports["mapped_listen"])
        assert (mapped, (), "LISTEN", v6, tcp) in seen
        accepted = [c for c in found if tuple(c.laddr) == mapped and c.raddr]
        assert accepted[0].raddr.ip == "::ffff:127.0.0.1", found  # IPv4-mapped, as psutil
        assert accepted[0].status == "ESTABLISHED"
        assert (("::1", ports["udp6"]), (), "NONE", v6, udp) in seen
    with pytest.raises(ValueError, match="invalid kind"):
        ours.net_connections("unix")


def _both(pid: int) -> Tuple[Any, Any]:
    """(psutil's answer, the stand-in's): the connections' rows, or the exception's kind."""
    answers: List[Any] = []
    for read, errors in (
        (lambda: psutil.Process(pid).net_connections(), psutil.Error),
        (lambda: agent_psutil.Process(pid).net_connections(), agent_psutil.Error),
    ):
        try:
            answers.append(_rows(read()))
        except errors as exc:
            answers.append("denied" if "AccessDenied" in type(exc).__name__ else "gone")
    return answers[0], answers[1]


def test_every_visible_process_equals_psutil() -> None:
    """Every process of this machine: the same connections, or AccessDenied from both."""
    compared = 0
    for proc in psutil.process_iter():
        for _ in range(5):  # a socket opened or closed between the two reads: read both again
            real, ours = _both(proc.pid)
            if real == ours or "gone" in (real, ours):
                break
        if "gone" in (real, ours):
            continue
        assert ours == real, proc.pid
        compared += 1
    assert compared > 0


def test_other_users_process_is_access_denied_as_psutil(net_child: NetChild) -> None:
    """psutil raises AccessDenied where /proc/PID/fd is not the reader's to list."""
    if os.geteuid() != 0:
        with pytest.raises(psutil.AccessDenied):
            psutil.Process(1).net_connections()
        with pytest.raises(agent_psutil.AccessDenied):
            agent_psutil.Process(1).net_connections()
        return
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 to run as nobody")
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); from sitesweep import agent_psutil as a\n"
        "try:\n    a.Process(int(sys.argv[2])).net_connections()\n"
        "except a.AccessDenied:\n    print('denied')\n"
    )
    run = subprocess.run(
        [python, "-I", "-S", "-c", program, str(SRC), str(net_child.pid)],
        user=65534,
        capture_output=True,
        check=False,
        timeout=60,
        cwd="/",
    )
    assert run.stdout.strip() == b"denied", run.stderr.decode()


def test_interface_addresses_equal_psutil() -> None:
    ours = {(n, tuple(a)) for n, addrs in agent_psutil.net_if_addrs().items() for a in addrs}
    real = {
        (n, tuple(a))
        for n, addrs in psutil.net_if_addrs().items()
        for a in addrs
        if a.family in (socket.AF_INET, socket.AF_INET6)
    }
    assert ours == real
    assert any(a[1][1] == "127.0.0.1" for a in ours)


def test_process_collector_runs_on_the_stand_in(
    net_child: NetChild, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "psutil", agent_psutil.as_module())
    gaps: List[Gap] = []
    found = {p.pid: p for p in processes.collect_processes(HostRoot(None), gaps)}
    assert found[os.getpid()].ppid == os.getppid()
    assert "connections" not in found[os.getpid()].denied
    child = found[net_child.pid]
    assert child.denied == ()
    remote = {(c.remote_ip, c.remote_port, c.status) for c in child.connections}
    assert ("127.0.0.1", net_child.info["tcp4_listen"], "ESTABLISHED") in remote
    assert ("127.0.0.1", net_child.info["udp4"], "NONE") in remote
    assert not [g for g in gaps if g.path == f"/proc/{net_child.pid}"]


def test_a_table_over_the_line_budget_is_a_gap_not_a_short_answer(
    net_child: NetChild, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_psutil, "TABLE_LINE_BUDGET", 2)  # the child alone holds 4 TCP
    with pytest.raises(agent_psutil.AccessDenied) as denied:
        agent_psutil.Process(net_child.pid).net_connections()
    assert "more than 2 lines" in denied.value.msg
    monkeypatch.setattr(processes, "psutil", agent_psutil.as_module())
    gaps: List[Gap] = []
    found = {p.pid: p for p in processes.collect_processes(HostRoot(None), gaps)}
    assert found[net_child.pid].denied == ("connections",)
    mine = [g for g in gaps if g.path == f"/proc/{net_child.pid}"]
    assert [g.reason for g in mine] == [GapReason.PERMISSION_DENIED]
    assert "more than 2 lines" in mine[0].detail


def test_agent_names_no_reduced_process_checks_where_the_stand_in_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent, "_PLACEHOLDERS", ["psutil"])
    assert agent_psutil.capabilities() == (None, None)
    areas = {area for area, _ in agent.reduced_checks(live=True)}
    assert not areas & {"processes", "identity"}
    monkeypatch.setattr(sys, "platform", "darwin")  # no /proc: the stand-in gives nothing
    reduced = dict(agent.reduced_checks(live=True))
    assert "no /proc" in reduced["processes"]
    assert "interface addresses" in reduced["identity"]
