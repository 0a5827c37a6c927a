"""RECORD integrity: modified, unlisted and missing files; clean layouts stay quiet."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot, record_hash
from clirun import RunCli
from sitesweep.checks import CheckContext
from sitesweep.checks.integrity import RecordMismatch, record_targets
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, Inventory, collect_inventory
from sitesweep.metadata import integrity
from sitesweep.metadata.integrity import RecordVerification
from sitesweep.model import Category, GapReason, Severity
from sitesweep.packs import load_packs
from sitesweep.pipeline import ScanOptions, run_scan

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
PACKS = load_packs()


def _scan(run_cli: RunCli, root: FakeRoot, out: Path, *extra: str) -> List[Dict[str, Any]]:
    run = run_cli("scan", "--root", str(root.path), "--output", str(out), "--json", *extra)
    assert run.code in (0, 1), run.err
    findings: List[Dict[str, Any]] = json.loads(run.out)["findings"]
    return findings


def _integrity(findings: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [f for f in findings if f["category"] == "integrity"]


def _collect(root: FakeRoot, verify_all: bool) -> Inventory:
    spec = CollectSpec(verify_record=verify_all, verify_targets=record_targets(PACKS))
    return collect_inventory(HostRoot(root.path), spec)


def _verification(inv: Inventory, name: str) -> RecordVerification:
    return next(r for r in inv.record_checks if r.name == name)


def _tampered(root: FakeRoot) -> None:
    root.add_venv(VENV)
    files = {
        "requests/__init__.py": b"from requests.api import get\n",
        "requests/api.py": b"def get(url):\n    return url\n",
        "requests/cacert.pem": b"-----BEGIN CERTIFICATE-----\n",
    }
    root.add_dist(SITE, "requests", "2.31.0", files=files)
    root.add_file(f"{SITE}/requests/api.py", b"def get(url):\n    steal()\n    return url\n")
    root.add_file(f"{SITE}/requests/_hook.py", b"import os\n")
    root.add_file(f"{SITE}/requests/__pycache__/api.cpython-311.pyc", b"\x00compiled later")


def test_modified_and_unlisted_py_are_reported_high(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _tampered(fake_root)
    findings = _integrity(_scan(run_cli, fake_root, tmp_path / "out", "--verify-record"))
    assert len(findings) == 1
    (finding,) = findings
    assert finding["rule"] == "heuristic/record-modified"
    assert finding["severity"] == "high"
    assert finding["distribution"] == "requests"
    assert finding["environment"] == VENV
    assert set(finding["paths"]) == {
        f"{SITE}/requests-2.31.0.dist-info",
        f"{SITE}/requests/api.py",
        f"{SITE}/requests/_hook.py",
    }
    labels = {e["label"] for e in finding["evidence"]}
    assert {"modified", "unlisted"} <= labels
    assert not fake_root.marker.exists()


def test_modified_and_unlisted_files_are_copied_as_evidence(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _tampered(fake_root)
    out = tmp_path / "out"
    _scan(run_cli, fake_root, out, "--verify-record")
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    index = json.loads((bundle / "evidence" / "index.json").read_text())
    copied = {e["host_path"] for e in index if e.get("copied")}
    assert {f"{SITE}/requests/api.py", f"{SITE}/requests/_hook.py"} <= copied


def test_untargeted_distribution_is_verified_only_when_asked(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _tampered(fake_root)
    assert _integrity(_scan(run_cli, fake_root, tmp_path / "out")) == []
    inv = _collect(fake_root, verify_all=False)
    assert inv.record_checks == ()


def test_collector_measures_expected_and_actual_hash(fake_root: FakeRoot) -> None:
    _tampered(fake_root)
    check = _verification(_collect(fake_root, verify_all=True), "requests")
    (modified,) = check.modified
    assert modified.file.path == f"{SITE}/requests/api.py"
    assert modified.expected_hash == record_hash(b"def get(url):\n    return url\n")
    new = b"def get(url):\n    steal()\n    return url\n"
    assert modified.actual_hash == record_hash(new)
    assert modified.file.sha256 == hashlib.sha256(new).hexdigest()
    assert [f.path for f in check.unlisted] == [f"{SITE}/requests/_hook.py"]
    assert check.top_levels == ("requests",)
    assert check.verified == 5  # __init__.py, cacert.pem, METADATA, WHEEL, INSTALLER
    assert check.unhashed == 1  # RECORD's own row


def test_targeted_distribution_is_always_verified_and_high(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    files = {
        "litellm/__init__.py": b'__version__ = "1.82.6"\n',
        "litellm/model_prices.json": b"{}\n",
        "litellm/proxy/proxy_server.py": b"app = None\n",
    }
    fake_root.add_dist(SITE, "litellm", "1.82.6", files=files)
    fake_root.add_file(f"{SITE}/litellm/model_prices.json", b'{"x": 1}\n')
    (fake_root.path / SITE.lstrip("/") / "litellm/proxy/proxy_server.py").unlink()
    findings = _integrity(_scan(run_cli, fake_root, tmp_path / "out"))
    by_title = {f["title"].split(":")[1].strip(): f for f in findings}
    assert {f["severity"] for f in findings} == {"high"}
    assert {f["rule"] for f in findings} == {"litellm-2026-03/integrity/litellm"}
    assert {f["pack"] for f in findings} == {"litellm-2026-03"}
    assert len(findings) == 2, by_title
    paths = {p for f in findings for p in f["paths"]}
    assert f"{SITE}/litellm/model_prices.json" in paths
    assert f"{SITE}/litellm/proxy/proxy_server.py" in paths


def test_missing_file_of_untargeted_distribution_is_low(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    files = {"six.py": b"# six\n", "sixdata/a.txt": b"a\n"}
    fake_root.add_dist(SITE, "six", "1.16.0", files=files)
    (fake_root.path / SITE.lstrip("/") / "sixdata/a.txt").unlink()
    inv = _collect(fake_root, verify_all=True)
    findings = list(RecordMismatch().run(CheckContext(inv, PACKS)))
    assert [(f.rule, f.severity, f.category) for f in findings] == [
        ("heuristic/record-missing", Severity.LOW, Category.INTEGRITY)
    ]
    assert findings[0].paths[1:] == (f"{SITE}/sixdata/a.txt",)


def _append_record(root: FakeRoot, dist_info: Path, rows: List[str]) -> None:
    record = dist_info / "RECORD"
    record.write_text(record.read_text() + "".join(f"{row}\n" for row in rows))


def _b64(algorithm: str, data: bytes) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _clean_layout(root: FakeRoot) -> None:
    """A few real-looking distributions: a namespace package shared by two, compiled bytecode
    listed and unlisted, a console script outside site-packages, an sha512 row."""
    root.add_venv(VENV)
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_dist(SITE, "litellm", "1.82.6", files={"litellm/__init__.py": b"x = 1\n"})
    root.add_dist(
        SITE,
        "google-auth",
        "2.29.0",
        files={"google/auth/__init__.py": b"# auth\n", "google/auth/jwt.py": b"# jwt\n"},
    )
    root.add_dist(
        SITE,
        "protobuf",
        "4.25.3",
        files={
            "google/protobuf/__init__.py": b"# pb\n",
            "google/_upb/_message.abi3.so": b"\x7fELF",
        },
    )
    pyc = b"\xa7\r\r\ncompiled"
    dist_info = root.add_dist(
        SITE,
        "click",
        "8.1.7",
        files={"click/__init__.py": b"# click\n", "click/__pycache__/core.cpython-311.pyc": pyc},
    )
    script = b"#!/home/alice/app/.venv/bin/python\nimport click\n"
    root.add_file(f"{VENV}/bin/clicktool", script)
    extra = b"sha512 row\n"
    root.add_file(f"{SITE}/click/extra.txt", extra)
    _append_record(
        root,
        dist_info,
        [
            f"../../../bin/clicktool,{record_hash(script)},{len(script)}",
            f"click/extra.txt,{_b64('sha512', extra)},{len(extra)}",
            "click/__pycache__/gone.cpython-311.pyc,sha256=AAAA,10",
            f"../../../../../../../etc/passwd,{record_hash(b'x')},1",
        ],
    )
    root.add_file(f"{SITE}/click/__pycache__/__init__.cpython-311.pyc", pyc)


def test_clean_layout_gives_no_integrity_finding(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _clean_layout(fake_root)
    assert _integrity(_scan(run_cli, fake_root, tmp_path / "a")) == []
    assert _integrity(_scan(run_cli, fake_root, tmp_path / "b", "--verify-record")) == []


def test_clean_layout_counts_skips_and_bytecode(fake_root: FakeRoot) -> None:
    _clean_layout(fake_root)
    inv = _collect(fake_root, verify_all=True)
    assert {r.name for r in inv.record_checks} == {
        "requests",
        "litellm",
        "google-auth",
        "protobuf",
        "click",
    }
    assert all(not r.has_mismatch for r in inv.record_checks)
    click = _verification(inv, "click")
    assert click.missing_bytecode == 1
    assert [s.reason for s in click.skipped] == ["outside the environment prefix"]
    assert click.verified == 7  # 2 package files, bin script, sha512 row, 3 dist-info files
    only_targets = _collect(fake_root, verify_all=False)
    assert [r.name for r in only_targets.record_checks] == ["litellm"]


def _symlinked_package(root: FakeRoot) -> None:
    root.add_file("/etc/shadow", "root:SECRET-HASH:19000::::::\n", mode=0o600)
    root.add_venv(VENV)
    files = {"litellm/__init__.py": b"x = 1\n", "litellm/utils.py": b"y = 2\n"}
    root.add_dist(SITE, "litellm", "1.83.0", files=files)
    (root.path / SITE.lstrip("/") / "litellm/utils.py").unlink()
    root.add_symlink(f"{SITE}/litellm/utils.py", "/etc/shadow")
    root.add_symlink(f"{SITE}/litellm/planted.py", "/etc/shadow")


def test_symlinks_in_a_package_are_reported_never_followed(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _symlinked_package(fake_root)
    check = _verification(_collect(fake_root, verify_all=False), "litellm")
    assert [(m.file.path, m.file.sha256, m.actual_hash) for m in check.modified] == [
        (f"{SITE}/litellm/utils.py", None, "sha256=(symlink)")
    ]
    assert [(f.path, f.sha256) for f in check.unlisted] == [(f"{SITE}/litellm/planted.py", None)]
    findings = _integrity(_scan(run_cli, fake_root, tmp_path / "out"))
    assert [f["severity"] for f in findings] == ["high"]
    assert {f"{SITE}/litellm/utils.py", f"{SITE}/litellm/planted.py"} <= set(findings[0]["paths"])


def test_symlink_targets_are_never_copied_as_evidence(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _symlinked_package(fake_root)
    out = tmp_path / "out"
    _scan(run_cli, fake_root, out)
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    leaked = [c.name for c in (bundle / "evidence").iterdir() if b"SECRET" in c.read_bytes()]
    assert leaked == []


def test_sourceless_bytecode_is_code_but_pycache_is_not(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    pyc = b"\xa7\r\r\ncompiled"
    files = {"attrs/__init__.py": b"# a\n", "attrs/__pycache__/x.cpython-311.pyc": pyc}
    fake_root.add_dist(SITE, "attrs", "23.2.0", files=files)
    fake_root.add_file(f"{SITE}/attrs/__pycache__/x.cpython-311.pyc", pyc + b"recompiled")
    inv = _collect(fake_root, verify_all=True)
    (only_pycache,) = RecordMismatch().run(CheckContext(inv, PACKS))
    assert only_pycache.severity is Severity.MEDIUM
    fake_root.add_file(f"{SITE}/attrs/loader.pyc", pyc)
    inv = _collect(fake_root, verify_all=True)
    (with_sourceless,) = RecordMismatch().run(CheckContext(inv, PACKS))
    assert with_sourceless.severity is Severity.HIGH
    assert f"{SITE}/attrs/loader.pyc" in with_sourceless.paths


def test_forged_huge_record_is_verified_up_to_the_cap(
    fake_root: FakeRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "MAX_VERIFIED_ROWS", 1000)
    site = "/srv/app/venv/lib/python3.11/site-packages"
    fake_root.add_venv("/srv/app/venv")
    meta = fake_root.add_dist(site, "litellm", "1.82.6")
    rows = "".join(f"litellm/gone_{i}.py,sha256=AAAA,4\n" for i in range(1500))
    (meta / "RECORD").write_text((meta / "RECORD").read_text() + rows)
    outcome = run_scan(ScanOptions(root=fake_root.path, output=None))
    gaps = [g for g in outcome.result.gaps if g.reason is GapReason.TOO_LARGE]
    assert [g.path for g in gaps] == [f"{site}/litellm-1.82.6.dist-info"]
    assert "1000 were verified" in gaps[0].detail
    (check,) = [c for c in outcome.result.inventory.record_checks if c.name == "litellm"]
    assert len(check.missing) <= 1000


def test_unlisted_search_reads_sibling_records_however_their_paths_are_spelled(
    fake_root: FakeRoot,
) -> None:
    """The unlisted-file search of one distribution compares against what every RECORD of its
    site dir lists under its packages, normalised: a namespace sibling whose rows read
    ``./google/cloud/...`` or ``google//cloud/...`` lists those files; a file no RECORD lists
    is unlisted for each distribution sharing that package, whether it is targeted or not."""
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "google-auth", "2.29.0", files={"google/auth/__init__.py": b"# a\n"})
    cloud = {"google/cloud/__init__.py": b"# c\n", "google/cloud/storage.py": b"# s\n"}
    dist_info = fake_root.add_dist(SITE, "google-cloud", "3.0.0", files=cloud)
    record = dist_info / "RECORD"
    text = record.read_text()
    text = text.replace("google/cloud/__init__.py", "./google/cloud/__init__.py")
    record.write_text(text.replace("google/cloud/storage.py", "google//cloud/storage.py"))
    fake_root.add_dist(SITE, "litellm", "1.83.0", files={"litellm/__init__.py": b"x = 1\n"})
    fake_root.add_file(f"{SITE}/google/planted.py", b"import os\n")
    fake_root.add_file(f"{SITE}/litellm/planted.py", b"import os\n")
    every = _collect(fake_root, verify_all=True)
    unlisted = {r.name: [f.path for f in r.unlisted] for r in every.record_checks}
    assert unlisted == {
        "google-auth": [f"{SITE}/google/planted.py"],
        "google-cloud": [f"{SITE}/google/planted.py"],
        "litellm": [f"{SITE}/litellm/planted.py"],
    }
    assert all(not r.modified and not r.missing for r in every.record_checks)
    targeted = _collect(fake_root, verify_all=False)
    assert [(r.name, [f.path for f in r.unlisted]) for r in targeted.record_checks] == [
        ("litellm", [f"{SITE}/litellm/planted.py"])
    ]
