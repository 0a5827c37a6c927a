"""RECORD checks, cache entries and lockfile pins survive a bundle: analyze(collect) == scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from builders import FakeRoot
from clirun import RunCli

SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"
PIP_WHEELS = "/home/alice/.cache/pip/wheels/ab/cd/ef/0123456789"
HTTP_V2 = "/home/alice/.cache/pip/http-v2/a/b/c/d/e"


def wheel_members(version: str) -> Dict[str, bytes]:
    info = f"litellm-{version}.dist-info"
    return {
        "litellm/__init__.py": b"x = 1\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: litellm\nVersion: {version}\n".encode(),
    }


def _finding_set(findings: List[Any]) -> Set[Tuple[str, str, str, Tuple[str, ...]]]:
    return {(f["id"], f["rule"], f["severity"], tuple(f["paths"])) for f in findings}


def test_analyze_of_collect_equals_scan_for_integrity_caches_and_lockfiles(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv("/home/alice/app/.venv")
    files = {"litellm/__init__.py": b"x = 1\n", "litellm/utils.py": b"def f(): pass\n"}
    fake_root.add_dist(SITE, "litellm", "1.83.0", files=files)
    fake_root.add_file(f"{SITE}/litellm/utils.py", b"def f(): return 1\n")
    fake_root.add_file(f"{SITE}/litellm/_extra.py", b"import os\n")
    fake_root.add_zip(f"{PIP_WHEELS}/litellm-1.82.7-py3-none-any.whl", wheel_members("1.82.7"))
    fake_root.add_zip(f"{HTTP_V2}/aa.body", wheel_members("1.82.8"))
    fake_root.add_file(f"{HTTP_V2}/bad.body", b"PK\x03\x04 truncated")
    fake_root.add_file(
        "/home/alice/app/uv.lock", '[[package]]\nname = "litellm"\nversion = "1.82.8"\n'
    )
    fake_root.add_file("/home/alice/app/requirements.txt", "litellm==1.82.7\n")
    scan = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "s"), "--json")
    assert scan.code == 1, scan.err
    scanned = json.loads(scan.out)["findings"]
    categories = {f["category"] for f in scanned}
    assert {"integrity", "cache", "lockfile"} <= categories
    collect = run_cli("collect", "--root", str(fake_root.path), "--output", str(tmp_path / "c"))
    assert collect.code == 0, collect.err
    (bundle,) = sorted((tmp_path / "c").glob("*.tar.gz"))
    analyzed = run_cli("analyze", str(bundle), "--json")
    assert analyzed.code == 1, analyzed.err
    assert _finding_set(json.loads(analyzed.out)["findings"]) == _finding_set(scanned)
    assert not fake_root.marker.exists()
