"""``sweep --encrypt-to``: bundles at rest on the controller are age files only (issue 17).

The agent is pure Python and age needs pyrage (compiled), so each bundle is encrypted on the
controller the moment it is fetched and checked. With ``--identity`` the controller judges it
right away; without, the host is unchecked (``encrypted``) until ``report --identity``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root, infected_root
from sitesweep.bundle.age import is_encrypted

pyrage = pytest.importorskip("pyrage", reason="pyrage is pinned in requirements.lock")
pytestmark = pytest.mark.ssh


def _keypair(directory: Path) -> Tuple[str, Path]:
    identity = pyrage.x25519.Identity.generate()
    directory.mkdir(parents=True, exist_ok=True)
    keyfile = directory / "responder.key"
    keyfile.write_text(f"{identity}\n")
    keyfile.chmod(0o600)
    return str(identity.to_public()), keyfile


def _hosts(doc_path: Path) -> Dict[str, Dict[str, object]]:
    return {h["name"]: h for h in json.loads(doc_path.read_text())["hosts"]}


def _clear_files(out: Path) -> List[str]:
    """Anything under the host directories that is not an age file (plaintext at rest)."""
    return [
        str(path.relative_to(out))
        for host in ("infected", "clean")
        for path in (out / host).rglob("*")
        if path.is_dir() or not (path.name.endswith(".tar.gz.age") and is_encrypted(path))
    ]


def test_sweep_encrypt_to_keeps_only_age_files_and_never_calls_them_clean(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"infected sitesweep_root={infected.path} sitesweep_python={target_python.python}\n"
        f"clean sitesweep_root={clean.path} sitesweep_python={target_python.python}\n"
    )
    recipient, keyfile = _keypair(tmp_path / "keys")
    common = ["-i", str(inventory), "--ssh-config", str(ssh_lab.config), "--timeout", "120"]
    common += ["--remote-tmp", str(remote_tmp), "--encrypt-to", recipient]

    # Without the identity: only age files on the controller, and no host called clean.
    out = tmp_path / "sealed"
    run = run_cli("sweep", *common, "--output", str(out))
    assert run.code == 3, run.err
    assert _clear_files(out) == []
    assert sorted(p.name for p in out.rglob("*.age")) == sorted(
        p.name for p in out.rglob("sitesweep-*")
    )
    hosts = _hosts(out / "fleet.json")
    for name in ("infected", "clean"):
        assert hosts[name]["verdict"] == "unchecked"
        assert hosts[name]["status"] == "encrypted"
        assert "--identity" in str(hosts[name]["detail"])
    journal = [
        json.loads(line)
        for p in (out / "journal").glob("*.jsonl")
        for line in p.read_text().splitlines()
    ]
    assert {a["status"] for a in journal} == {"ok"}
    assert all(a["analysis"] is None and a["cleaned"] for a in journal)
    assert list(remote_tmp.iterdir()) == [], "the sweep left files on a target"

    # report without the identity: could not be read, exit 3; with it: the right verdicts.
    blind = run_cli("report", str(out), "--output", str(tmp_path / "blind"))
    assert blind.code == 3, blind.err
    assert {h["verdict"] for h in _hosts(tmp_path / "blind" / "fleet.json").values()} == {
        "unchecked"
    }
    seen = run_cli("report", str(out), "--identity", str(keyfile), "--output", str(tmp_path / "r"))
    assert seen.code == 1, seen.err
    verdicts = {n: h["verdict"] for n, h in _hosts(tmp_path / "r" / "fleet.json").items()}
    assert verdicts == {"infected": "compromised", "clean": "clean"}
    assert _clear_files(out) == [], "report wrote something in clear beside the bundles"

    # With the identity at sweep time: judged right away, still nothing in clear at rest.
    judged = tmp_path / "judged"
    again = run_cli("sweep", *common, "--identity", str(keyfile), "--output", str(judged))
    assert again.code == 1, again.err
    verdicts = {n: h["verdict"] for n, h in _hosts(judged / "fleet.json").items()}
    assert verdicts == {"infected": "compromised", "clean": "clean"}
    assert _clear_files(judged) == []
    assert list(remote_tmp.iterdir()) == []
    assert not infected.marker.exists()
    assert not target_python.marker.exists()
