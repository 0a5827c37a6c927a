"""A Windows image's findings are written with C:\\ paths in findings.json, the report and the
timeline; the observations themselves keep host paths (analyze compares them one way)."""

from __future__ import annotations

import json
from pathlib import Path

from builders import FakeRoot, malicious_pth_content
from osimages import windows_image
from scanrun import load, scan
from sitesweep.osprofile import OsFamily, OsInfo, PathStyle, display_path

VENV = "/Users/alice/projects/api/.venv"
SITE = f"{VENV}/Lib/site-packages"
WIN_SITE = "C:\\Users\\alice\\projects\\api\\.venv\\Lib\\site-packages"


def test_display_path_writes_windows_paths_and_leaves_others() -> None:
    windows = OsInfo(OsFamily.WINDOWS, path_style=PathStyle.WINDOWS)
    assert display_path("/Program Files/Python312", windows) == "C:\\Program Files\\Python312"
    assert display_path("/", windows) == "C:\\"
    assert display_path("~/.ssh/id_rsa", windows) == "~/.ssh/id_rsa"
    assert display_path("/home/alice", OsInfo(OsFamily.LINUX)) == "/home/alice"
    assert display_path("/home/alice", None) == "/home/alice"


def test_windows_findings_report_and_timeline_show_c_drive_paths(tmp_path: Path) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"))
    root.add_venv(VENV, python="3.12", windows=True)
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 1
    findings = load(bundle, "findings.json")["findings"]
    pth = [f for f in findings if f"{WIN_SITE}\\litellm_init.pth" in f["paths"]]
    assert pth, [f["paths"] for f in findings]
    assert pth[0]["severity"] == "critical"
    assert all(not p.startswith("/") for f in findings for p in f["paths"])
    assert {f["environment"] for f in findings if f["environment"]} == {
        "C:\\Users\\alice\\projects\\api\\.venv"
    }
    report = (bundle / "report.txt").read_text(encoding="utf-8")
    assert f"path: {WIN_SITE}\\litellm_init.pth" in report
    timeline = (bundle / "timeline.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in timeline]
    pth_rows = [r for r in rows if r["path"] == f"{WIN_SITE}\\litellm_init.pth"]
    assert pth_rows
    assert WIN_SITE in pth_rows[0]["message"]
    assert f"{WIN_SITE}\\litellm_init.pth" in (bundle / "timeline.csv").read_text(encoding="utf-8")
    inventory = load(bundle, "inventory.json")
    assert inventory["os"]["path_style"] == "windows"
    assert SITE in {e["site_dirs"][0] for e in inventory["environments"]}  # host paths kept
    assert load(bundle, "manifest.json")["host"]["hostname"] == "DESKTOP-7QK2M1A"
    assert not root.marker.exists()
