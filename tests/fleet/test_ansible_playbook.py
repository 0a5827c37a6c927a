"""``playbooks/sweep.yml`` through ansible-playbook against the loopback sshd hosts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root, infected_root
from sitesweep.fleet.agent_build import build_agent
from sitesweep.merge import MERGED

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


def _journal(out: Path) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in sorted((out / "journal").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            doc = json.loads(line)
            found.setdefault(doc["host"], []).append(doc)
    return found


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
    # Two hosts are unreachable on purpose: they are journalled like any failed host.
    assert run.returncode == 0, log
    status = {h: [a["status"] for a in v] for h, v in _journal(out).items()}
    assert status == {
        "infected": ["ok"],
        "clean": ["ok"],
        "wrongkey": ["auth_failed"],
        "closed": ["unreachable"],
    }, log
    assert sorted((out / "retry.txt").read_text().split()) == ["closed", "wrongkey"]
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


HANGS_ON_PROBE = "#!/bin/sh\nexec sleep 600\n"
HANGS_IN_AGENT = '#!/bin/sh\ncase "$*" in *" -c "*) printf 3.11; exit 0;; esac\nexec sleep 600\n'


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def _run_playbook(
    inventory: Path,
    extra: Dict[str, Any],
    tmp_path: Path,
    *args: str,
    strategy: str = "linear",
    env: Optional[Dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [_ansible_playbook(), "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(extra), *args],
        env={**_env(tmp_path), "ANSIBLE_STRATEGY": strategy, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    with (tmp_path / "ansible.log").open("a") as log:
        log.write(run.stdout + run.stderr)
    return run


def test_playbook_honours_the_inventory_bounds_hung_hosts_and_retries_by_limit(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    _ansible_playbook()
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    inventory_tmp = tmp_path / "inventory-tmp"  # set in the inventory only: must be used
    inventory_tmp.mkdir()
    agent = build_agent(tmp_path / "agent.pyz").path
    lab = ssh_lab.ssh
    first, second = ssh_lab.ports["first"], ssh_lab.ports["second"]
    hangs = _script(tmp_path / "hangs-on-probe", HANGS_ON_PROBE)
    stalls = _script(tmp_path / "hangs-in-agent", HANGS_IN_AGENT)
    good = target_python.python
    # No ssh config file at all: the key, the port, the user and the ssh options come from the
    # inventory's own connection variables, as on an ordinary fleet.
    connection = (
        f"ansible_host=127.0.0.1\nansible_user=root\nansible_ssh_private_key_file={lab.client_key}"
    )
    text = (
        "[fleet]\n"
        f"infected ansible_port={first} sitesweep_root={infected.path} sitesweep_python={good}\n"
        f"clean ansible_port={second} sitesweep_root={clean.path} sitesweep_python={good}\n"
        f"hung ansible_port={second} sitesweep_root={clean.path} sitesweep_python={hangs}\n"
        f"stalled ansible_port={first} sitesweep_root={clean.path} sitesweep_python={stalls}\n"
        f"badkey ansible_port={first} ansible_ssh_private_key_file={lab.wrong_key}\n"
        "[privileged]\n"
        f"rooted ansible_port={second} sitesweep_root={clean.path} sitesweep_python={good}\n"
        "[privileged:vars]\n"
        "sitesweep_become=true\n"
        "[all:vars]\n"
        f"{connection}\n"
        "ansible_ssh_common_args='-o IdentitiesOnly=yes -o IdentityAgent=none "
        f"-o UserKnownHostsFile={lab.base / 'known_hosts'} -o StrictHostKeyChecking=accept-new'\n"
        f"sitesweep_remote_tmp={inventory_tmp}\n"
        "sitesweep_task_timeout=8\n"
    )
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(text)
    out = tmp_path / "ansible-out"
    extra = {
        "sitesweep_agent": str(agent),
        "sitesweep_output": str(out),
        "sitesweep_poll_delay": 1,
        "sitesweep_poll_retries": 6,
    }
    started = time.monotonic()
    run = _run_playbook(inventory, extra, tmp_path, "-f", "6")
    took = time.monotonic() - started
    log = (tmp_path / "ansible.log").read_text()
    assert run.returncode == 0, log
    assert took < 120, f"a hung host held the play for {took:.0f}s"
    status = {h: [a["status"] for a in v] for h, v in _journal(out).items()}
    assert status == {
        "infected": ["ok"],
        "clean": ["ok"],
        "hung": ["timeout"],
        "stalled": ["timeout"],
        "badkey": ["auth_failed"],
        "rooted": ["ok"],
    }, log
    assert all(a["cleaned"] for v in _journal(out).values() for a in v)
    assert list(inventory_tmp.iterdir()) == [], "the playbook left files on a target"
    deadline = time.monotonic() + 15  # the hung probe's own time limit on the target
    while left := [p for p in Path("/proc").glob("[0-9]*") if _runs(p, str(tmp_path))]:
        assert time.monotonic() < deadline, [(p / "cmdline").read_bytes()[:300] for p in left]
        time.sleep(0.5)
    retried = sorted((out / "retry.txt").read_text().split())
    assert retried == sorted(h for h, s in status.items() if s != ["ok"])
    # The responder fixes the hung host and re-runs the failed ones with --limit @retry.txt.
    inventory.write_text(text.replace(f"sitesweep_python={hangs}", f"sitesweep_python={good}"))
    retry = f"@{out / 'retry.txt'}"
    again = _run_playbook(inventory, extra, tmp_path, "--limit", retry, strategy="free")
    assert again.returncode == 0, (tmp_path / "ansible.log").read_text()
    attempts = _journal(out)
    assert [a["status"] for a in attempts["hung"]] == ["timeout", "ok"]
    assert [a["status"] for a in attempts["infected"]] == ["ok"], "--limit was not honoured"
    report = run_cli("report", str(out), "--output", str(tmp_path / "report"))
    assert report.code == 1, report.err
    hosts = json.loads((tmp_path / "report" / "fleet.json").read_text())["hosts"]
    assert sorted(h["name"] for h in hosts) == sorted(status)
    verdicts = {h["name"]: h["verdict"] for h in hosts}
    assert verdicts["infected"] == "compromised"
    assert verdicts["hung"] in ("clean", "incomplete")
    assert verdicts["badkey"] == "unchecked"
    assert verdicts["stalled"] == "unchecked"
    assert not infected.marker.exists()
    assert not target_python.marker.exists()


def _runs(proc: Path, text: str) -> bool:
    """Whether ``proc`` is a process on the "target" (not the controller's ssh) naming ``text``."""
    try:
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return text in cmdline and not cmdline.startswith("ssh")


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_playbook_in_serial_batches_journals_every_host_once(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli, strategy: str
) -> None:
    _ansible_playbook()
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    agent = build_agent(tmp_path / "agent.pyz").path
    lab = ssh_lab.ssh
    first, second = ssh_lab.ports["first"], ssh_lab.ports["second"]
    good = target_python.python
    # serial 2 over 5 hosts: batches [infected, clean1], [clean2, clean3], [closed]; the last
    # batch fails whole (the one host in it cannot be reached), which must not stop the run.
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[fleet]\n"
        f"infected ansible_port={first} sitesweep_root={infected.path}\n"
        f"clean1 ansible_port={second} sitesweep_root={clean.path}\n"
        f"clean2 ansible_port={first} sitesweep_root={clean.path}\n"
        f"clean3 ansible_port={second} sitesweep_root={clean.path}\n"
        f"closed ansible_port={ssh_lab.ports['closed']}\n"
        "[all:vars]\n"
        f"ansible_host=127.0.0.1\nansible_user=root\nansible_ssh_private_key_file={lab.client_key}\n"
        "ansible_ssh_common_args='-o IdentitiesOnly=yes -o IdentityAgent=none "
        f"-o UserKnownHostsFile={lab.base / 'known_hosts'} -o StrictHostKeyChecking=accept-new'\n"
        f"sitesweep_python={good}\nsitesweep_remote_tmp={remote_tmp}\nsitesweep_task_timeout=20\n"
    )
    out = tmp_path / "ansible-out"
    extra = {
        "sitesweep_agent": str(agent),
        "sitesweep_output": str(out),
        "sitesweep_poll_delay": 1,
        "sitesweep_poll_retries": 60,
        "sitesweep_serial": 2,
    }
    run = _run_playbook(inventory, extra, tmp_path, "-f", "2", strategy=strategy)
    log = (tmp_path / "ansible.log").read_text()
    assert run.returncode == 0, log
    assert log.count("PLAY [Sweep hosts with the sitesweep agent]") == 3, log  # three batches
    journal = _journal(out)
    status = {h: [a["status"] for a in v] for h, v in journal.items()}
    assert status == {
        "infected": ["ok"],
        "clean1": ["ok"],
        "clean2": ["ok"],
        "clean3": ["ok"],
        "closed": ["unreachable"],
    }, log
    assert len({a["sweep"] for v in journal.values() for a in v}) == 1, "one run id for all"
    assert all(a["cleaned"] for v in journal.values() for a in v)
    assert (out / "retry.txt").read_text().split() == ["closed"]
    assert list(remote_tmp.iterdir()) == [], "the playbook left files on a target"
    report = run_cli("report", str(out), "--output", str(tmp_path / "report"))
    assert report.code == 1, report.err
    hosts = json.loads((tmp_path / "report" / "fleet.json").read_text())["hosts"]
    verdicts = {h["name"]: h["verdict"] for h in hosts}
    assert verdicts == {
        "infected": "compromised",
        "clean1": "clean",
        "clean2": "clean",
        "clean3": "clean",
        "closed": "unchecked",
    }
    assert {h["judged"] for h in hosts if h["verdict"] != "unchecked"} == {MERGED}
    assert not infected.marker.exists()
    assert not target_python.marker.exists()


# A stand-in for sudo (the lab logs in as root and has no sudo): it drops sudo's options, marks
# the environment as sudo does and runs the command. The interpreter below reads files with an
# ordinary account's view (no DAC capabilities) unless it runs under that "sudo", so a host sees
# a root-only environment only if the play really used become for it.
FAKE_SUDO = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/sudo.log"
while [ $# -gt 0 ]; do case "$1" in -u|-p) shift 2;; -*) shift;; *) break;; esac; done
SUDO_UID=0 SUDO_USER=root exec "$@"
"""


def test_playbook_honours_become_set_per_group(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    _ansible_playbook()
    infected = infected_root(tmp_path / "infected")
    app = infected.path / "srv" / "app"
    os.chown(app, 4242, 4242)  # another account's environment, readable by it (and root) alone
    app.chmod(0o700)
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    agent = build_agent(tmp_path / "agent.pyz").path
    lab = ssh_lab.ssh
    drop = "-dac_override,-dac_read_search"
    python = _script(
        tmp_path / "python-sees-as-root-only-under-sudo",
        f'#!/bin/sh\n[ -n "$SUDO_UID" ] && exec {target_python.python} "$@"\n'
        f'exec setpriv --inh-caps={drop} --bounding-set={drop} {target_python.python} "$@"\n',
    )
    (tmp_path / "sudo-bin").mkdir()
    sudo = _script(tmp_path / "sudo-bin" / "sudo", FAKE_SUDO)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[plain]\n"
        f"asuser ansible_port={ssh_lab.ports['first']}\n"
        "[privileged]\n"
        f"withbecome ansible_port={ssh_lab.ports['second']}\n"
        "[privileged:vars]\n"
        f"sitesweep_become=true\nansible_become_exe={sudo}\n"
        "[all:vars]\n"
        f"ansible_host=127.0.0.1\nansible_user=root\nansible_ssh_private_key_file={lab.client_key}\n"
        "ansible_ssh_common_args='-o IdentitiesOnly=yes -o IdentityAgent=none "
        f"-o UserKnownHostsFile={lab.base / 'known_hosts'} -o StrictHostKeyChecking=accept-new'\n"
        f"sitesweep_root={infected.path}\nsitesweep_python={python}\n"
        f"sitesweep_remote_tmp={remote_tmp}\n"
    )
    out = tmp_path / "ansible-out"
    extra = {
        "sitesweep_agent": str(agent),
        "sitesweep_output": str(out),
        "sitesweep_poll_delay": 1,
        "sitesweep_poll_retries": 60,
    }
    # The lab's login is root: let Ansible "become" root from root, as it would from a user.
    run = _run_playbook(inventory, extra, tmp_path, env={"ANSIBLE_BECOME_ALLOW_SAME_USER": "true"})
    log = (tmp_path / "ansible.log").read_text()
    assert run.returncode == 0, log
    status = {h: [a["status"] for a in v] for h, v in _journal(out).items()}
    assert status == {"asuser": ["ok"], "withbecome": ["ok"]}, log
    assert "agent.pyz" in (sudo.parent / "sudo.log").read_text(), "become never used sudo"
    assert not (out / "retry.txt").exists(), "every host has a bundle: nothing to retry"
    assert all(a["cleaned"] for v in _journal(out).values() for a in v)
    assert list(remote_tmp.iterdir()) == [], "the playbook left files on a target"
    report = run_cli("report", str(out), "--output", str(tmp_path / "report"))
    assert report.code == 1, report.err
    hosts = {
        h["name"]: h for h in json.loads((tmp_path / "report" / "fleet.json").read_text())["hosts"]
    }
    assert hosts["withbecome"]["verdict"] == "compromised", hosts["withbecome"]
    assert hosts["asuser"]["verdict"] == "incomplete", hosts["asuser"]
    assert any("permission denied" in r for r in hosts["asuser"]["incomplete"])
    assert not infected.marker.exists()
    assert not target_python.marker.exists()
