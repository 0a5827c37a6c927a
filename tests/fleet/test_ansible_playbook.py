"""``playbooks/sweep.yml`` through ansible-playbook against the loopback sshd hosts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root, infected_root
from sitesweep.fleet.agent_build import build_agent

pytestmark = pytest.mark.ssh

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "sweep.yml"


def _ansible_playbook() -> str:
    candidate = Path(sys.executable).parent / "ansible-playbook"
    found = str(candidate) if candidate.exists() else shutil.which("ansible-playbook")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("ansible-playbook must be installed in CI (requirements-dev.lock)")
        pytest.skip("ansible-core is not installed")
    return found


def _env(tmp_path: Path) -> Dict[str, str]:
    home = tmp_path / "ansible-home"
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_HOME": str(home),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CONFIG": str(tmp_path / "no-ansible.cfg"),
            "ANSIBLE_FORKS": "4",
            "LC_ALL": "C.UTF-8",
        }
    )
    return env


def test_playbook_sweeps_without_running_target_python(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    playbook = _ansible_playbook()
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    agent = build_agent(tmp_path / "agent.pyz").path
    # ansible_python_interpreter is the interpreter every ordinary module would run on the target:
    # the venv whose site-packages holds the marker .pth. Set per host (not for all), so the
    # implicit localhost of the controller-side tasks never inherits it.
    py = f"ansible_python_interpreter={target_python.python}"
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[fleet]\n"
        f"infected sitesweep_root={infected.path} {py}\n"
        f"clean sitesweep_root={clean.path} {py}\n"
        f"wrongkey {py}\n"
        f"closed {py}\n"
    )
    out = tmp_path / "ansible-out"
    extra = {
        "sitesweep_agent": str(agent),
        "sitesweep_output": str(out),
        "sitesweep_remote_tmp": str(remote_tmp),
        "sitesweep_ssh_args": ["-F", str(ssh_lab.config)],
        "sitesweep_poll_delay": 1,
        "sitesweep_poll_retries": 120,
        "ansible_ssh_common_args": f"-F {ssh_lab.config}",
    }
    run = subprocess.run(
        [playbook, "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(extra)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = run.stdout + run.stderr
    (tmp_path / "ansible.log").write_text(log)
    # Two hosts are unreachable on purpose: ansible-playbook exits 4 for that, and only for that.
    assert run.returncode == 4, log
    sweep: Dict[str, Any] = json.loads((out / "sweep.json").read_text())
    status = {h["host"]: h["status"] for h in sweep["hosts"]}
    assert status == {
        "infected": "ok",
        "clean": "ok",
        "wrongkey": "unreachable",
        "closed": "unreachable",
    }, log
    assert list(remote_tmp.iterdir()) == [], "the playbook left files on the target"
    assert not target_python.marker.exists(), "the target's Python ran with site: .pth executed"
    report_dir = tmp_path / "report"
    rep = run_cli("report", str(out), "--output", str(report_dir))
    assert rep.code == 1, rep.err
    fleet = {h["name"]: h for h in json.loads((report_dir / "fleet.json").read_text())["hosts"]}
    assert fleet["infected"]["verdict"] == "compromised"
    assert fleet["clean"]["verdict"] == "clean"
    assert fleet["wrongkey"]["verdict"] == "unchecked"
    assert fleet["closed"]["verdict"] == "unchecked"
    assert not infected.marker.exists()
    assert not clean.marker.exists()
    assert not target_python.marker.exists()
