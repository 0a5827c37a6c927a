"""Process checks: a real decode-and-exec child is reported by pid; ``--root`` skips them."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

import pytest

from builders import FakeRoot
from sitesweep.checks.processes import InlineDecodeExec, inline_program
from sitesweep.engine import analyze
from sitesweep.host.model import Connection, ProcessInfo
from sitesweep.host.processes import collect_processes
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.model import Category, Gap, GapReason, Severity
from sitesweep.packs import load_packs
from sitesweep.pipeline import ScanOptions, run_scan

SLEEPER = base64.b64encode(b"import time; time.sleep(30)").decode("ascii")


def test_inline_program_parsing() -> None:
    assert inline_program(("python3", "-c", "x=1")) == "x=1"
    assert inline_program(("/usr/bin/python3.11", "-I", "-c", "y")) == "y"
    assert inline_program(("python3", "-W", "ignore", "-c", "z")) == "z"
    assert inline_program(("python3", "-m", "http.server")) is None
    assert inline_program(("python3", "script.py", "-c", "z")) is None
    assert inline_program(("bash", "-c", "python3")) is None


def test_root_scan_skips_processes_with_a_gap(fake_root: FakeRoot) -> None:
    result = run_scan(ScanOptions(root=fake_root.path, strict=True)).result
    assert result.inventory.processes == ()
    live_only = {g.area for g in result.gaps if g.reason is GapReason.LIVE_ONLY}
    assert {"processes", "process/indicator", "process/inline-decode-exec"} <= live_only
    assert "process/inline-decode-exec" not in result.checks_run


@pytest.mark.live
def test_live_decode_exec_child_is_reported_by_pid(fake_root: FakeRoot) -> None:
    program = f"import base64;exec(base64.b64decode('{SLEEPER}'))"
    child = subprocess.Popen([sys.executable, "-c", program])
    try:
        time.sleep(0.5)  # let the child exec its command line
        gaps: List[Gap] = []
        processes = collect_processes(HostRoot(None), gaps)
        assert child.pid in {p.pid for p in processes}
        static = collect_inventory(HostRoot(fake_root.path), CollectSpec())
        inventory = dataclasses.replace(static, live=True, processes=processes)
        result = analyze(inventory, load_packs(), checks=(InlineDecodeExec,), strict=True)
        mine = [f for f in result.findings if f"/proc/{child.pid}" in f.paths]
        assert len(mine) == 1
        assert mine[0].severity is Severity.HIGH
        assert mine[0].rule == "heuristic/process-inline-decode-exec"
        assert any(e.label == "pid" and e.value == str(child.pid) for e in mine[0].evidence)
    finally:
        child.terminate()
        child.wait(timeout=10)
    assert child.returncode is not None


def _proc(pid: int, cmdline: List[str], **extra: object) -> ProcessInfo:
    fields: Dict[str, Any] = {
        "pid": pid,
        "ppid": 1,
        "name": cmdline[0].rsplit("/", 1)[-1],
        "user": "alice",
        "exe": cmdline[0],
        "cmdline": tuple(cmdline),
        "cwd": "/home/alice",
        "create_time": 0.0,
        "exe_deleted": False,
        "connections": (),
    }
    fields.update(extra)
    return ProcessInfo(**fields)


def test_indicator_network_and_location_checks(fake_root: FakeRoot) -> None:
    processes = (
        _proc(101, ["/usr/bin/python3", "/root/.config/sysmon/sysmon.py"]),
        _proc(102, ["/usr/bin/curl", "-X", "POST", "https://models.litellm.cloud/"]),
        _proc(103, ["/usr/bin/python3"], connections=(Connection("83.142.209.11", 443, "X"),)),
        _proc(104, ["/tmp/pglog"], exe_deleted=True),
        _proc(105, ["/home/alice/.venv/bin/python", "-m", "http.server"]),
        _proc(106, ["/usr/bin/python3", "-c", "print('hello')"]),
    )
    static = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    inventory = dataclasses.replace(static, live=True, processes=processes)
    result = analyze(inventory, load_packs(), strict=True)
    by_pid: Dict[str, List[Tuple[str, Severity]]] = {}
    for f in result.findings:
        if f.category in (Category.PROCESS, Category.NETWORK):
            by_pid.setdefault(f.paths[0], []).append((f.rule, f.severity))
    crit = ("litellm-2026-03/process", Severity.CRITICAL)
    assert crit in by_pid["/proc/101"]
    assert crit in by_pid["/proc/102"]
    assert crit in by_pid["/proc/103"]
    assert crit in by_pid["/proc/104"]  # /tmp/pglog is a pack persistence path
    assert ("heuristic/process-location", Severity.MEDIUM) in by_pid["/proc/104"]
    assert ("heuristic/process-location", Severity.MEDIUM) in by_pid["/proc/101"]
    assert "/proc/105" not in by_pid
    assert "/proc/106" not in by_pid


@pytest.mark.live
def test_unreadable_processes_are_gaps_when_unprivileged() -> None:
    probe = (
        "import json, os\n"
        "from sitesweep.host.processes import collect_processes\n"
        "from sitesweep.hostfs import HostRoot\n"
        "gaps = []\n"
        "procs = collect_processes(HostRoot(None), gaps)\n"
        "print(json.dumps({'me': os.getpid(), 'pids': [p.pid for p in procs],\n"
        "                  'gaps': [[g.path, g.reason.value] for g in gaps]}))\n"
    )
    cmd = [sys.executable, "-I", "-c", probe]
    if os.geteuid() == 0:  # become nobody: other users' /proc/<pid> details are then denied
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(proc.stdout)
    assert seen["me"] in seen["pids"]
    denied = {path for path, reason in seen["gaps"] if reason == "permission_denied"}
    assert "/proc/1" in denied
