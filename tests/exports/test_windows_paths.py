"""A Windows tree's exports write host paths as Windows does (C:\\...), through os-core's one
rendering function; SARIF URIs stay relative to the scanned root with forward slashes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from evidence_host import scan_bundle
from osimages import windows_image

VENV = "/Users/alice/app/.venv"
SITE = f"{VENV}/Lib/site-packages"
WIN_VENV = "C:\\Users\\alice\\app\\.venv"
WIN_PTH = f"{WIN_VENV}\\Lib\\site-packages\\litellm_init.pth"


def test_windows_paths_in_every_export(tmp_path: Path, run_cli: RunCli) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"), users=(("alice", 1001),))
    root.add_venv(VENV, windows=True)
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    root.add_file("/Users/alice/app/requirements.txt", "litellm==1.82.8\n")
    bundle = scan_bundle(root, tmp_path / "out", run_cli)

    docs = [json.loads(line) for line in (bundle / "findings.jsonl").read_text().splitlines()]
    pth = next(d for d in docs if d["rule"]["id"] == "litellm-2026-03/file/litellm-init-pth")
    assert pth["file"]["path"] == WIN_PTH
    assert pth["file"]["name"] == "litellm_init.pth"
    assert pth["sitesweep"]["paths"] == [WIN_PTH]
    assert pth["host"]["os"]["type"] == "windows"
    assert pth["host"]["os"]["name"] == "Windows 11 Pro"
    package = next(d for d in docs if d["rule"]["id"] == "litellm-2026-03/affected/litellm")
    assert package["package"]["path"] == WIN_VENV

    rows = list(csv.DictReader(io.StringIO((bundle / "findings.csv").read_text())))
    assert WIN_PTH in {r["paths"] for r in rows}
    inventory = list(csv.DictReader(io.StringIO((bundle / "inventory.csv").read_text())))
    litellm = next(r for r in inventory if r["distribution"] == "litellm")
    assert (litellm["environment"], litellm["site_dir"]) == (
        WIN_VENV,
        f"{WIN_VENV}\\Lib\\site-packages",
    )
    timeline = list(csv.DictReader(io.StringIO((bundle / "timeline.csv").read_text())))
    pth_row = next(r for r in timeline if r["source"] == "pth")
    assert pth_row["path"] == WIN_PTH
    assert WIN_PTH in pth_row["message"]

    sbom = json.loads((bundle / "sbom.cdx.json").read_text())
    component = next(c for c in sbom["components"] if c["name"] == "litellm")
    props = {p["name"]: p["value"] for p in component["properties"]}
    assert props["sitesweep:environment"] == WIN_VENV

    sarif = json.loads((bundle / "findings.sarif").read_text())
    results = sarif["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert f"{SITE.lstrip('/')}/litellm_init.pth" in uris, "URIs keep forward slashes"
    assert any(WIN_PTH in r["properties"]["hostPaths"] for r in results)

    page = (bundle / "report.html").read_text()
    assert WIN_PTH in page
    assert "Lib\\site-packages\\litellm_init.pth" in page, "the tree shows it inside its venv"
    assert f"{SITE}/litellm_init.pth" not in page
