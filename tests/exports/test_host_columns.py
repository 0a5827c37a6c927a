"""Every CSV and JSONL export names its host, so the exports of several hosts merge."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List

from builders import FakeRoot
from clirun import RunCli
from evidence_host import PROJECT, VENV, build_infected, build_wide, scan_bundle

HOSTS = {"web-1": "11111111111111111111111111111111", "batch-2": "22222222222222222222222222222222"}
CSVS = ("findings.csv", "inventory.csv", "timeline.csv")


def _two_bundles(tmp_path: Path, run_cli: RunCli) -> Dict[str, Path]:
    bundles = {}
    for (name, machine_id), build in zip(HOSTS.items(), (build_wide, build_infected)):
        root = FakeRoot(tmp_path / f"root-{name}")
        build(root)
        root.add_hostname(name)
        root.add_machine_id(machine_id)
        bundles[name] = scan_bundle(root, tmp_path / f"out-{name}", run_cli)
    return bundles


def _merged_csv(bundles: Dict[str, Path], name: str) -> List[Dict[str, str]]:
    """The CSVs of every host concatenated, as a responder would (one header kept)."""
    texts = [(b / name).read_bytes().decode("utf-8") for b in bundles.values()]
    headers = {t.split("\r\n", 1)[0] for t in texts}
    assert len(headers) == 1, "the same columns for every host"
    body = "".join(t.split("\r\n", 1)[1] for t in texts)
    return list(csv.DictReader(io.StringIO(headers.pop() + "\r\n" + body)))


def test_merged_exports_say_which_host_each_row_is_about(tmp_path: Path, run_cli: RunCli) -> None:
    bundles = _two_bundles(tmp_path, run_cli)
    for name in CSVS:
        rows = _merged_csv(bundles, name)
        assert {(r["host_name"], r["host_id"]) for r in rows} == set(HOSTS.items()), name
    inventory = _merged_csv(bundles, "inventory.csv")
    bad = {
        (r["host_name"], r["environment"], r["worst_finding"])
        for r in inventory
        if (r["distribution"], r["version"]) == ("litellm", "1.82.8")
    }
    assert bad == {("web-1", VENV, "critical"), ("batch-2", VENV, "critical")}
    row = next(r for r in inventory if r["distribution"] == "litellm")
    assert row["environment_kind"] == "venv"
    assert row["installed_at"] == "2026-03-24T10:40:00.000000Z"
    findings = _merged_csv(bundles, "findings.csv")
    lockfile_hosts = {r["host_name"] for r in findings if r["category"] == "lockfile"}
    assert lockfile_hosts == {"web-1"}, f"only the wide host has {PROJECT}'s lockfiles"
    for bundle in bundles.values():
        lines = (bundle / "timeline.jsonl").read_text(encoding="utf-8").splitlines()
        docs = [json.loads(line) for line in lines]
        ident = {(d["host_name"], d["host_id"]) for d in docs}
        assert len(ident) == 1
        assert ident <= set(HOSTS.items())
