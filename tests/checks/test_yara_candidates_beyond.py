"""YARA also reaches cached wheels' members, files added after install and persistence files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from builders import FakeRoot
from clirun import RunCli

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
LOADER = (SAMPLES / "litellm_pth_loader/match/litellm_init_shape.pth.txt").read_bytes()
PAYLOAD = (SAMPLES / "litellm_payload_strings/match/orchestrator_shape.py.txt").read_bytes()
UNIT = (SAMPLES / "sysmon_persistence/match/sysmon.service.txt").read_text()
SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"


def _yara(findings: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {f["paths"][0]: f for f in findings if "/yara/" in f["rule"]}


def _host(root: FakeRoot) -> None:
    root.add_venv("/home/alice/app/.venv")
    # litellm at a clean version, with a file dropped into its package after install
    root.add_dist(SITE, "litellm", "1.82.6")
    root.add_file(f"{SITE}/litellm/_helper.py", PAYLOAD)
    # a cached wheel of the affected version whose .pth member has the loader's shape
    root.add_zip(
        "/home/alice/.cache/pip/wheels/ab/cd/litellm-1.82.8-py3-none-any.whl",
        {"litellm_init.pth": LOADER, "litellm-1.82.8.dist-info/METADATA": b"Name: litellm\n"},
    )
    # the incident's user unit under another name: no pack path matches it, the rule does
    root.add_user_unit("/home/alice", "telemetry.service", UNIT)


def test_yara_matches_cache_members_unlisted_files_and_persistence(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root)
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "o"), "--json")
    hits = _yara(json.loads(run.out)["findings"])
    wheel = "/home/alice/.cache/pip/wheels/ab/cd/litellm-1.82.8-py3-none-any.whl"
    assert wheel in hits
    assert {"label": "archive member", "value": "litellm_init.pth", "line": None} in hits[wheel][
        "evidence"
    ]
    assert f"{SITE}/litellm/_helper.py" in hits
    unit = "/home/alice/.config/systemd/user/telemetry.service"
    assert unit in hits
    assert run.code == 1
    assert not fake_root.marker.exists()


def test_analyze_of_collect_sees_the_same_yara_matches(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root)
    scan = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "s"), "--json")
    assert (
        run_cli("collect", "--root", str(fake_root.path), "--output", str(tmp_path / "c")).code == 0
    )
    bundle = next((tmp_path / "c").glob("*.tar.gz"))
    analyzed = run_cli("analyze", str(bundle), "--json")
    assert set(_yara(json.loads(analyzed.out)["findings"])) == set(
        _yara(json.loads(scan.out)["findings"])
    )
    assert _yara(json.loads(scan.out)["findings"])
