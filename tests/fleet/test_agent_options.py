"""``sweep`` passes the walk, priority and custody options on to the agent on each target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, infected_root
from sitesweep.fleet.views import manifest_of

pytestmark = pytest.mark.ssh


def test_sweep_passes_exclude_prune_nice_and_custody_to_the_agent(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(
        f"infected sitesweep_root={infected.path} sitesweep_python={target_python.python}\n"
    )
    out = tmp_path / "sweep"
    common = ["-i", str(hosts), "--ssh-config", str(ssh_lab.config), "--timeout", "60"]
    common += ["--remote-tmp", str(tmp_path)]
    run = run_cli(
        "sweep",
        *common,
        "--output",
        str(out),
        "--exclude",
        "/srv/app",
        "--prune",
        "node_modules",
        "--io-nice",
        "--cpu-nice",
        "--case-id",
        "IR-2026-17",
        "--examiner",
        "A. Responder",
        "--note",
        "fleet sweep; by order of the CISO",
    )
    assert run.code in (0, 3), run.err  # the infected environment was excluded
    (entry,) = json.loads((out / "sweep.json").read_text())["hosts"]
    assert entry["status"] == "ok", entry
    manifest = manifest_of(out / entry["bundle"])
    assert manifest["custody"] == {
        "case_id": "IR-2026-17",
        "examiner": "A. Responder",
        "note": "fleet sweep; by order of the CISO",
    }
    argv = manifest["argv"]
    for option in ("--exclude", "/srv/app", "--prune", "node_modules", "--io-nice", "--cpu-nice"):
        assert option in argv
    fleet = {h["name"]: h for h in json.loads((out / "fleet.json").read_text())["hosts"]}
    assert fleet["infected"]["verdict"] != "compromised"
    # Without the exclusion the same host is compromised: the option, not chance, hid it.
    again = run_cli("sweep", *common, "--output", str(tmp_path / "again"))
    assert again.code == 1, again.err
    refused = run_cli("sweep", *common, "--output", str(out), "--encrypt-to", "age1xyz")
    assert refused.code == 2
    assert not infected.marker.exists()
    assert not target_python.marker.exists()
