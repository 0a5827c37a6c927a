"""The fleet record over re-runs, and verdicts that say what was checked (loopback sshd hosts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

from clirun import CliRun, RunCli
from fleet.fleetlab import SITE, Lab, TargetPython, clean_root, infected_root

pytestmark = pytest.mark.ssh


def _sweep(run_cli: RunCli, lab: Lab, out: Path, remote_tmp: Path, *args: str) -> CliRun:
    return run_cli(
        "sweep",
        *args,
        "--ssh-config",
        str(lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(remote_tmp),
        "--parallel",
        "4",
        "--timeout",
        "60",
        "--connect-timeout",
        "5",
    )


def _fleet(path: Path) -> Dict[str, Dict[str, Any]]:
    hosts: List[Dict[str, Any]] = json.loads(path.read_text())["hosts"]
    names = [h["name"] for h in hosts]
    assert len(names) == len(set(names)), f"a host counted twice: {names}"
    return {h["name"]: h for h in hosts}


def _attempts(out: Path) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for journal in sorted((out / "journal").glob("*.jsonl")):
        for line in journal.read_text().splitlines():
            doc = json.loads(line)
            found.setdefault(doc["host"], []).append(doc)
    return found


def test_retry_failed_sweeps_only_failed_hosts_and_counts_each_host_once(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    inventory = tmp_path / "hosts.ini"
    broken = "/nonexistent/bin/python3"
    text = (
        f"infected sitesweep_root={infected.path}\n"
        f"clean sitesweep_root={clean.path}\n"
        f"nopython sitesweep_root={clean.path} sitesweep_python={broken}\n"
        "closed\n"
        "[all:vars]\n"
        f"sitesweep_python={target_python.python}\n"
    )
    inventory.write_text(text)
    out = tmp_path / "sweep"
    first = _sweep(run_cli, ssh_lab, out, remote_tmp, "-i", str(inventory))
    assert first.code == 1, first.err
    assert {h: [a["status"] for a in v] for h, v in _attempts(out).items()} == {
        "infected": ["ok"],
        "clean": ["ok"],
        "nopython": ["no_python3"],
        "closed": ["unreachable"],
    }
    # The responder fixes one host and re-runs the failed ones into the same output.
    inventory.write_text(text.replace(broken, str(target_python.python)))
    again = _sweep(run_cli, ssh_lab, out, remote_tmp, "-i", str(inventory), "--retry-failed")
    assert again.code == 1, again.err
    assert "2 host(s) to sweep, 2 already have a good bundle" in again.err
    attempts = _attempts(out)
    assert [a["status"] for a in attempts["infected"]] == ["ok"], "a good host was re-swept"
    assert [a["status"] for a in attempts["clean"]] == ["ok"]
    assert [(a["attempt"], a["status"]) for a in attempts["nopython"]] == [
        (1, "no_python3"),
        (2, "ok"),
    ]
    assert [a["status"] for a in attempts["closed"]] == ["unreachable", "unreachable"]
    fleet = _fleet(out / "fleet.json")
    assert set(fleet) == {"infected", "clean", "nopython", "closed"}
    assert fleet["infected"]["verdict"] == "compromised"
    assert fleet["clean"]["verdict"] == "clean"
    assert fleet["nopython"]["verdict"] == "clean"
    assert fleet["nopython"]["attempts"] == 2
    assert fleet["closed"]["verdict"] == "unchecked"
    sweep_json = {h["host"]: h for h in json.loads((out / "sweep.json").read_text())["hosts"]}
    assert sweep_json["nopython"]["status"] == "ok"
    # A second sweep directory of a host already swept: reported together, still once each.
    other = tmp_path / "sweep2"
    solo = _sweep(run_cli, ssh_lab, other, remote_tmp, "--host", "clean", "--root", str(clean.path))
    assert solo.code in (0, 3), solo.err
    both = run_cli("report", str(out), str(other), "--output", str(tmp_path / "both"))
    assert both.code == 1, both.err
    merged = _fleet(tmp_path / "both" / "fleet.json")
    assert set(merged) == {"infected", "clean", "nopython", "closed"}
    assert merged["clean"]["bundle"].startswith(str(other.resolve()))  # the latest good one
    # A retry with nothing left to do still reports the whole fleet from the journal.
    inventory.write_text(text.replace("closed\n", ""))
    idle = _sweep(run_cli, ssh_lab, out, remote_tmp, "-i", str(inventory), "--retry-failed")
    assert idle.code == 1, idle.err
    assert set(_fleet(out / "fleet.json")) == {"infected", "clean", "nopython", "closed"}
    assert list(remote_tmp.iterdir()) == []
    assert not target_python.marker.exists()
    assert not infected.marker.exists()


def _no_dac_python(tmp_path: Path, python: Path) -> Path:
    """An interpreter wrapper without the capabilities that bypass file permissions.

    The login is root (the lab's sshd), so this is how the agent gets an ordinary account's view
    of files it does not own, the view of a sweep without become.
    """
    drop = "-dac_override,-dac_read_search"
    wrapper = tmp_path / "unprivileged-python"
    wrapper.write_text(
        f'#!/bin/sh\nexec setpriv --inh-caps={drop} --bounding-set={drop} {python} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def test_root_only_infected_environment_without_become_is_incomplete(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    app = infected.path / "srv" / "app"
    os.chown(app, 4242, 4242)  # owned by another account, readable by it alone
    app.chmod(0o700)
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    inventory = tmp_path / "hosts.ini"
    python = _no_dac_python(tmp_path, target_python.python)
    inventory.write_text(f"infected sitesweep_root={infected.path} sitesweep_python={python}\n")
    out = tmp_path / "sweep"
    run = _sweep(run_cli, ssh_lab, out, remote_tmp, "-i", str(inventory))
    assert run.code == 3, run.err
    row = _fleet(out / "fleet.json")["infected"]
    assert row["verdict"] == "incomplete", row
    assert any("permission denied" in reason for reason in row["incomplete"]), row
    assert "INCOMPLETE" in run.err
    report = run_cli("report", str(out), "--output", str(tmp_path / "r"))
    assert report.code == 3, report.err
    # The same tree readable (as with become): the environment is seen and is compromised.
    app.chmod(0o755)
    seen = _sweep(run_cli, ssh_lab, tmp_path / "sweep2", remote_tmp, "-i", str(inventory))
    assert seen.code == 1, seen.err
    assert (infected.path / SITE.lstrip("/")).is_dir()
    assert list(remote_tmp.iterdir()) == []
    assert not infected.marker.exists()
    assert not target_python.marker.exists()


def test_all_unreachable_sweep_and_empty_report_exit_non_zero(
    ssh_lab: Lab, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "sweep"
    run = _sweep(run_cli, ssh_lab, out, tmp_path, "--host", "closed", "--host", "wrongkey")
    assert run.code == 3, run.err
    fleet = _fleet(out / "fleet.json")
    assert {h: r["verdict"] for h, r in fleet.items()} == {
        "closed": "unchecked",
        "wrongkey": "unchecked",
    }
    assert json.loads((out / "fleet.json").read_text())["verdict"] == "unchecked"
    assert run_cli("report", str(out), "--output", str(tmp_path / "r")).code == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("report", str(empty))
    assert nothing.code == 3, nothing.err
    assert "0 hosts" in nothing.err
