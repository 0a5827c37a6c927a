"""``sitesweep sweep`` against real sshd hosts on loopback, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root, infected_root

pytestmark = pytest.mark.ssh


def _inventory(path: Path, infected: Path, clean: Path, python: Path) -> Path:
    path.write_text(
        "[compromised_candidates]\n"
        f"infected sitesweep_root={infected}\n"
        "[others]\n"
        f"clean sitesweep_root={clean}\n"
        "wrongkey\n"
        "closed\n"
        f"nopython sitesweep_root={clean} sitesweep_python=/nonexistent/bin/python3\n"
        "[all:vars]\n"
        f"sitesweep_python={python}\n"
    )
    return path


def _by_host(doc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {h["host"] if "host" in h else h["name"]: h for h in doc["hosts"]}


def test_sweep_reports_each_host_and_leaves_nothing(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    inventory = _inventory(tmp_path / "hosts.ini", infected.path, clean.path, target_python.python)
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(inventory),
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(remote_tmp),
        "--parallel",
        "4",
        "--timeout",
        "120",
        "--connect-timeout",
        "5",
    )
    assert run.code == 1, run.err
    sweep = _by_host(json.loads((out / "sweep.json").read_text()))
    assert {h: s["status"] for h, s in sweep.items()} == {
        "infected": "ok",
        "clean": "ok",
        "wrongkey": "auth_failed",
        "closed": "unreachable",
        "nopython": "no_python3",
    }
    assert sweep["infected"]["cleaned"]
    assert sweep["clean"]["cleaned"]
    fleet = _by_host(json.loads((out / "fleet.json").read_text()))
    assert fleet["infected"]["verdict"] == "compromised"
    assert "/srv/app/.venv" in fleet["infected"]["environments"]
    assert fleet["clean"]["verdict"] == "clean"
    assert fleet["wrongkey"]["verdict"] == "unchecked"
    assert fleet["closed"]["verdict"] == "unchecked"
    assert fleet["nopython"]["verdict"] == "unchecked"
    assert any(item.startswith("yara:") for item in fleet["clean"]["reduced"])
    html = (out / "fleet.html").read_text()
    assert "infected" in html
    assert "<script" not in html
    assert list(remote_tmp.iterdir()) == [], "the sweep left files on the target"
    assert not target_python.marker.exists(), "the target python's .pth ran"
    assert not infected.marker.exists()
    assert not clean.marker.exists()


def test_host_option_and_report_alone(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    hosts_file = tmp_path / "hosts.txt"
    hosts_file.write_text("# one [user@]host[:port] per line\nroot@infected\n")
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "--hosts-file",
        str(hosts_file),
        "--host",
        "clean",
        "--root",
        str(infected.path),
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(tmp_path),
        "--timeout",
        "120",
        "--ssh-option",
        "ServerAliveInterval=10",
        "--parallel",
        "1",
    )
    assert run.code == 1, run.err
    sweep = _by_host(json.loads((out / "sweep.json").read_text()))
    assert {h: s["status"] for h, s in sweep.items()} == {"root@infected": "ok", "clean": "ok"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sitesweep.")]
    report_dir = tmp_path / "report"
    again = run_cli("report", str(out), "--output", str(report_dir))
    assert again.code == 1
    fleet = _by_host(json.loads((report_dir / "fleet.json").read_text()))
    assert fleet["root@infected"]["verdict"] == "compromised"
    assert fleet["clean"]["verdict"] == "compromised"  # --root: the same infected tree
    assert not infected.marker.exists()


GARBAGE = "import sys\nsys.stdout.write('this is not a bundle line\\n\\x00\\x01 garbage\\n')\n"
HUGE = "import sys\nsys.stdout.write('A' * (300 * 1024) + '\\n')\n"
OVERSIZED = (
    "import sys\n"
    "sys.stdout.write('SITESWEEP-BUNDLE sitesweep-x-20260101T000000Z.tar.gz ' + 'a' * 64"
    " + ' 999999999999\\n')\n"
)


WRITER = (
    "import hashlib, os, sys\n"
    "out = sys.argv[sys.argv.index('--output') + 1]\n"
    "os.makedirs(out)\n"
    "data = b'x' * 100000\n"
    "name = 'sitesweep-liar-20260101T000000Z.tar.gz'\n"
    "open(os.path.join(out, name), 'wb').write(data)\n"
    "print('SITESWEEP-BUNDLE', name, {digest}, {size})\n"
)
LIES_ABOUT_SIZE = WRITER.format(digest="hashlib.sha256(data).hexdigest()", size="10")
LIES_ABOUT_HASH = WRITER.format(digest="'b' * 64", size="len(data)")
FAILING = "import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n"
SLOW = "import time\ntime.sleep(120)\n"


@pytest.mark.parametrize(
    ("script", "status", "expected"),
    [
        (GARBAGE, "bad_output", "garbage"),
        (HUGE, "bad_output", "more than"),
        (OVERSIZED, "bad_output", "over"),
        (LIES_ABOUT_SIZE, "bad_output", "agent said 10"),
        (LIES_ABOUT_HASH, "bad_output", "hash differs"),
        (FAILING, "collector_failed", "boom"),
        (SLOW, "timeout", ""),
    ],
    ids=[
        "garbage",
        "too-much-output",
        "bundle-over-limit",
        "bundle-longer-than-said",
        "bundle-hash-differs",
        "agent-fails",
        "agent-hangs",
    ],
)
def test_bad_collector_output_is_a_host_status(
    ssh_lab: Lab,
    target_python: TargetPython,
    tmp_path: Path,
    run_cli: RunCli,
    script: str,
    status: str,
    expected: str,
) -> None:
    fake_agent = tmp_path / "fake_agent.py"
    fake_agent.write_text(script)
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(
        "all:\n  hosts:\n    clean:\n"
        f"      sitesweep_root: {clean.path}\n"
        f"      ansible_python_interpreter: {target_python.python}\n"
    )
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(hosts),
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(remote_tmp),
        "--agent",
        str(fake_agent),
        "--max-bundle-size",
        "200000",
        "--timeout",
        "20",
    )
    assert run.code == 3, run.err  # the one host is unchecked: not clean, nothing found
    host = _by_host(json.loads((out / "sweep.json").read_text()))["clean"]
    assert host["status"] == status, host
    assert expected in host["detail"]
    assert host["cleaned"] is True
    assert list(remote_tmp.iterdir()) == []
    fleet = _by_host(json.loads((out / "fleet.json").read_text()))
    assert fleet["clean"]["verdict"] == "unchecked"
    assert not target_python.marker.exists()


@pytest.mark.live
def test_live_sweep_of_a_linux_host_names_no_reduced_process_checks(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    """A live sweep (no sitesweep_root) of the loopback host: the agent runs without psutil, yet
    the fleet row names no reduced processes or identity check (only YARA, made up for on the
    controller), so nothing but what this machine really denies keeps it from clean."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"clean\n[all:vars]\nsitesweep_python={target_python.python}\n")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    walked = {"/etc", "/proc", "/sys", "/dev"}
    excludes = [
        a
        for d in sorted(Path("/").iterdir())
        if str(d) not in walked
        for a in ("--exclude", str(d))
    ]
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(inventory),
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(remote_tmp),
        "--timeout",
        "300",
        *excludes,
    )
    fleet = _by_host(json.loads((out / "fleet.json").read_text()))
    row = fleet["clean"]
    assert row["verdict"] != "unchecked", run.err
    assert not [r for r in row["reduced"] if r.startswith(("processes", "identity"))], row
    assert [r for r in row["reduced"] if r.startswith("yara")], row
    assert not [r for r in row.get("incomplete", []) if "reduced" in r], row
    assert run.code == {"clean": 0, "incomplete": 3, "compromised": 1}[row["verdict"]]
    assert list(remote_tmp.iterdir()) == [], "the sweep left files on the target"
    assert not target_python.marker.exists(), "the target python's .pth ran"
