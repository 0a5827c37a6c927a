"""The agent's /proc stand-in for psutil, checked against this process and the collector."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import List

import pytest

from sitesweep import agent_psutil
from sitesweep.host import processes
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")


def test_reads_this_process() -> None:
    me = agent_psutil.Process(os.getpid())
    assert me.ppid() == os.getppid()
    assert me.cmdline() == sys.orig_argv
    assert Path(me.exe()) == Path(sys.executable).resolve()
    assert Path(me.cwd()) == Path.cwd()
    assert 0 < agent_psutil.boot_time() <= me.create_time() <= time.time() + 1
    assert os.getpid() in {p.pid for p in agent_psutil.process_iter()}
    with pytest.raises(agent_psutil.AccessDenied):
        me.net_connections()


def test_gone_process_is_no_such_process() -> None:
    with pytest.raises(agent_psutil.NoSuchProcess):
        agent_psutil.Process(2**22 + 12345).name()


def test_process_collector_runs_on_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "psutil", agent_psutil.as_module())
    gaps: List[Gap] = []
    found = processes.collect_processes(HostRoot(None), gaps)
    mine = [p for p in found if p.pid == os.getpid()]
    assert len(mine) == 1
    assert mine[0].ppid == os.getppid()
    assert "connections" in mine[0].denied
