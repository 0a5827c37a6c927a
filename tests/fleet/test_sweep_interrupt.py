"""A sweep stopped by SIGTERM, and a become that sudo refuses: nothing is left on the targets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root

pytestmark = pytest.mark.ssh

SLOW = "import time\ntime.sleep(300)\n"


def _processes_mentioning(text: str) -> List[str]:
    found = []
    # The agents and the shells that wait for them (the targets are this machine).
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and int(entry.name) != os.getpid():
            found.append(cmdline)
    return found


def _journal(out: Path) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in (out / "journal").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            doc = json.loads(line)
            found.setdefault(doc["host"], []).append(doc)
    return found


def test_sigterm_cleans_up_in_flight_targets_and_keeps_the_journal(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    agent = tmp_path / "slow_agent.py"
    agent.write_text(SLOW)
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(
        f"infected sitesweep_root={clean.path}\nclean sitesweep_root={clean.path}\n"
        f"[all:vars]\nsitesweep_python={target_python.python}\n"
    )
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "sitesweep", "sweep", "-i", str(hosts)]
    argv += ["--ssh-config", str(ssh_lab.config), "--output", str(out)]
    argv += ["--remote-tmp", str(remote_tmp), "--agent", str(agent), "--timeout", "200"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(list(remote_tmp.glob("sitesweep.*/agent.pid"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the agents never started"
            time.sleep(0.1)
        assert len(_processes_mentioning(str(remote_tmp))) >= 2
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, text
    assert "--resume" in text
    assert list(remote_tmp.iterdir()) == [], "the sweep left files on a target"
    assert _processes_mentioning(str(remote_tmp)) == [], "an agent still runs on a target"
    journal = _journal(out)
    assert {h: [(a["status"], a["cleaned"]) for a in v] for h, v in journal.items()} == {
        "infected": [("interrupted", True)],
        "clean": [("interrupted", True)],
    }
    report = run_cli("report", str(out), "--output", str(tmp_path / "r"))
    assert report.code == 3, report.err
    rows = json.loads((tmp_path / "r" / "fleet.json").read_text())["hosts"]
    assert sorted((r["name"], r["status"], r["verdict"]) for r in rows) == [
        ("clean", "interrupted", "unchecked"),
        ("infected", "interrupted", "unchecked"),
    ]
    assert not target_python.marker.exists()


def test_become_without_sudo_is_become_failed_and_cleaned(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    if shutil.which("sudo") is not None:
        pytest.skip("sudo is installed here: the target would not refuse become")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(f"clean sitesweep_root={clean.path} sitesweep_python={target_python.python}\n")
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(hosts),
        "--become",
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(remote_tmp),
        "--timeout",
        "60",
    )
    assert run.code == 3, run.err
    ((attempt,),) = _journal(out).values()
    assert attempt["status"] == "become_failed", attempt
    assert "sudo" in attempt["detail"]
    assert attempt["cleaned"] is True
    assert list(remote_tmp.iterdir()) == []
