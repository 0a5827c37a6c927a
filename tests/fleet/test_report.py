"""``sitesweep report``: one fleet summary from bundles of any origin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict

from builders import FakeRoot
from clirun import RunCli
from fleet.fleetlab import clean_root, infected_root
from sitesweep.pipeline import ScanOptions, run_collect


def _collect(root: FakeRoot, out: Path) -> Path:
    outcome = run_collect(ScanOptions(root=root.path, output=out))
    assert outcome.bundle is not None
    return outcome.bundle.archive


def _hosts(path: Path) -> Dict[str, Dict[str, Any]]:
    return {h["name"]: h for h in json.loads(path.read_text())["hosts"]}


def test_report_merges_bundles_and_sweep_statuses(tmp_path: Path, run_cli: RunCli) -> None:
    fleet = tmp_path / "fleet"
    infected = infected_root(tmp_path / "infected")
    bad = _collect(infected, fleet / "infected")
    clean = clean_root(tmp_path / "clean")
    good = _collect(clean, fleet / "clean")
    # A bundle copied by hand as an unpacked directory only.
    other = clean_root(tmp_path / "other")
    other.add_hostname("copied-by-hand")
    copied = _collect(other, tmp_path / "elsewhere")
    shutil.copytree(copied.parent / copied.name[: -len(".tar.gz")], fleet / "hand" / "b")
    (fleet / "sweep.json").write_text(
        json.dumps(
            {
                "hosts": [
                    {
                        "host": "web1",
                        "status": "ok",
                        "detail": "",
                        "bundle": str(bad.relative_to(fleet)),
                    },
                    {
                        "host": "web2",
                        "status": "ok",
                        "detail": "",
                        "bundle": str(good.relative_to(fleet)),
                    },
                    {"host": "web3", "status": "unreachable", "detail": "refused", "bundle": None},
                ]
            }
        )
    )
    run = run_cli("report", str(fleet))
    assert run.code == 1, run.err
    hosts = _hosts(fleet / "fleet.json")
    assert hosts["web1"]["verdict"] == "compromised"
    assert hosts["web1"]["hostname"] == "infected-host"
    assert hosts["web1"]["environments"] == ["/srv/app/.venv"]
    assert hosts["web2"]["verdict"] == "clean"
    assert hosts["web3"]["verdict"] == "unchecked"
    assert hosts["web3"]["status"] == "unreachable"
    assert hosts["copied-by-hand"]["status"] == "bundle"
    assert "host\tweb1\tinfected-host\tcompromised" in run.out  # results on stdout
    html = (fleet / "fleet.html").read_text()
    assert "web3" in html
    assert not infected.marker.exists()


def test_report_exit_0_when_clean_and_escapes_host_data(tmp_path: Path, run_cli: RunCli) -> None:
    root = clean_root(tmp_path / "root")
    root.add_hostname("<script>alert(1)</script>")
    archive = _collect(root, tmp_path / "bundles")
    out = tmp_path / "report"
    run = run_cli("report", str(archive), "--output", str(out))
    assert run.code == 0, run.err
    html = (out / "fleet.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_unreadable_bundle_is_a_row_not_a_crash(tmp_path: Path, run_cli: RunCli) -> None:
    broken = tmp_path / "sitesweep-broken-20260101T000000Z.tar.gz"
    broken.write_bytes(b"not gzip at all")
    run = run_cli("report", str(tmp_path), "--output", str(tmp_path / "r"))
    assert run.code == 3, run.err  # unchecked: never clean, never "found"
    (row,) = _hosts(tmp_path / "r" / "fleet.json").values()
    assert row["verdict"] == "unchecked"
    assert row["status"] == "bad_bundle"


def test_report_analyses_in_a_process_pool_as_it_would_alone(tmp_path: Path) -> None:
    from sitesweep.fleet.summary import fleet_doc, summarize
    from sitesweep.fleet.views import CACHE_DIR

    fleet = tmp_path / "fleet"
    _collect(infected_root(tmp_path / "infected"), fleet / "a")
    _collect(clean_root(tmp_path / "clean"), fleet / "b")
    other = clean_root(tmp_path / "other")
    other.add_hostname("third-host")
    _collect(other, fleet / "c")
    pooled = fleet_doc(summarize((fleet,), workers=2))
    caches = sorted(fleet.rglob(f"{CACHE_DIR}/*.json"))
    assert len(caches) == 3, "each worker caches the view it computed"
    for cache in caches:
        cache.unlink()
    alone = fleet_doc(summarize((fleet,), workers=1))
    assert pooled == alone
    assert pooled["counts"] == {"clean": 2, "compromised": 1}
