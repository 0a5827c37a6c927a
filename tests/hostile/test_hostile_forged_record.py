"""A forged RECORD listing thousands of files that do not exist, in a targeted package.

Before: the YARA pass recorded one ``vanished`` gap per absent file, and the bundle's
``evidence/index.json`` one facts-only entry per RECORD row beyond verification's reach (its
hash taken from the row's claim): 600,000 rows in 3 environments made a 1.8 GB bundle. Now the
gaps of one distribution are the first few and one more with their count, and no index entry is
made for a file the scan never saw.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from builders import FakeRoot
from scanrun import load, only_bundle, scan, write_later_pack
from sitesweep.cli import main
from sitesweep.gapbound import MAX_GAPS_PER_GROUP as MAX_GAPS_PER_DISTRIBUTION
from sitesweep.metadata import integrity
from sitesweep.metadata.integrity import MAX_MISSING_LISTED

ROWS = 5000
VERIFIED = 1000
"""Rows verification reaches (lowered from 50,000 so 4,000 absent rows lie beyond it)."""
SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"
ABSENT = "litellm/proxy/ui/_next/static/chunk"


def spec(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


ROUTER = b"class Router:\n    pass\n"


def forged_host(tmp_path: Path) -> FakeRoot:
    """A venv holding litellm 1.82.6 whose RECORD lists ROWS absent files before its own."""
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv("/home/alice/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.6", files={"litellm/router.py": ROUTER})
    record = root.host(f"{SITE}/litellm-1.82.6.dist-info/RECORD")
    rows = "".join(f"{ABSENT}{i}.js,{spec(b'x')},{i}\n" for i in range(ROWS))
    record.write_text(rows + record.read_text())  # the absent rows first: past the budget
    return root


def test_forged_record_of_absent_files_bounded_gaps_no_index_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "MAX_VERIFIED_ROWS", VERIFIED)
    root = forged_host(tmp_path)
    router = ROUTER
    code, bundle = scan(root.path, tmp_path / "out")

    # verification found the first absent rows missing (today's rule: high, exit 1)
    outcome = load(bundle, "findings.json")["outcome"]
    assert code == 1
    assert outcome["verdict"] == "compromised"

    gaps = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "file/yara"]
    absent = [g for g in gaps if g["path"] and ABSENT in g["path"]]
    assert len(absent) == MAX_GAPS_PER_DISTRIBUTION
    assert {g["reason"] for g in absent} == {"vanished"}
    summary = [g for g in gaps if g["path"] == f"{SITE}/litellm-1.82.6.dist-info"]
    assert len(summary) == 1
    assert summary[0]["reason"] == "vanished"
    more = ROWS - MAX_GAPS_PER_DISTRIBUTION
    assert summary[0]["detail"].startswith(f"{more} more files listed in the RECORD of litellm")

    index = load(bundle, "evidence/index.json")
    facts_only = [e for e in index if e["kept"] == "hashed only"]
    assert not [e for e in facts_only if ABSENT in e["host_path"]]
    beyond = {f"{SITE}/{ABSENT}{i}.js" for i in range(VERIFIED, ROWS)}
    assert not [e for e in index if e["host_path"] in beyond], "no entry for an unseen file"
    # the file that exists keeps its facts, hashed by the scan
    kept = [e for e in facts_only if e["host_path"] == f"{SITE}/litellm/router.py"]
    assert [e["sha256"] for e in kept] == [hashlib.sha256(router).hexdigest()]


def test_forged_record_bundle_gaps_are_bounded_with_their_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle writer's gaps (copies of the missing files a finding names) are bounded by
    the same rule as the checks' gaps: per distribution, the first few and one counted gap, in
    coverage.json and in the manifest alike; the count is exact."""
    monkeypatch.setattr(integrity, "MAX_VERIFIED_ROWS", VERIFIED)
    root = forged_host(tmp_path)
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 1

    findings = load(bundle, "findings.json")["findings"]
    missing = [f for f in findings if "missing" in f["title"] and f["distribution"] == "litellm"]
    assert len(missing) == 1
    named = [p for p in missing[0]["paths"] if ABSENT in p]  # what the bundle tried to copy
    assert len(named) > MAX_GAPS_PER_DISTRIBUTION

    gaps = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "bundle"]
    listed = sorted(g["path"] for g in gaps if ABSENT in g["path"])
    assert listed == sorted(named)[:MAX_GAPS_PER_DISTRIBUTION]  # the first by path
    summary = [g for g in gaps if g["path"] == f"{SITE}/litellm-1.82.6.dist-info"]
    assert len(summary) == 1
    assert summary[0]["reason"] == "vanished"
    more = len(named) - MAX_GAPS_PER_DISTRIBUTION
    assert summary[0]["detail"].startswith(f"{more} more files listed in the RECORD of litellm")
    assert len(gaps) == MAX_GAPS_PER_DISTRIBUTION + 1

    manifest = load(bundle, "manifest.json")
    assert [(g["path"], g["detail"]) for g in manifest["bundle_gaps"]] == [
        (g["path"], g["detail"]) for g in gaps
    ]


def test_forged_record_inventory_and_finding_are_bounded_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inventory.json keeps every RECORD row of a file that exists and only the first rows of
    files the scan found absent (record_rows still says how many there were); the missing paths
    of the verification and of the integrity finding are the first by path with the exact
    count; ``analyze`` of the bundle with a later pack still finds the existing file by its
    hash, and says which rows it could not match."""
    monkeypatch.setattr(integrity, "MAX_VERIFIED_ROWS", VERIFIED)
    root = forged_host(tmp_path)
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 1
    dist_info = f"{SITE}/litellm-1.82.6.dist-info"
    absent = sorted(f"{SITE}/{ABSENT}{i}.js" for i in range(ROWS))
    verified_missing = sorted(f"{SITE}/{ABSENT}{i}.js" for i in range(VERIFIED))

    # the integrity finding: the first paths by path, the exact count in its title
    findings = load(bundle, "findings.json")["findings"]
    [missing] = [f for f in findings if "missing" in f["title"] and f["distribution"] == "litellm"]
    assert missing["title"].startswith(f"litellm 1.82.6: {VERIFIED} file(s) in RECORD are missing")
    assert missing["paths"] == [dist_info, *verified_missing[:MAX_MISSING_LISTED]]
    listed = [e["value"] for e in missing["evidence"] if e["label"] == "missing"]
    assert listed == verified_missing[:MAX_MISSING_LISTED]

    inventory_text = (bundle / "inventory.json").read_text(encoding="utf-8")
    inventory = load(bundle, "inventory.json")
    [check] = [c for c in inventory["record_checks"] if c["distribution"] == dist_info]
    assert check["missing"] == verified_missing[:MAX_MISSING_LISTED]
    assert check["missing_more"] == VERIFIED - MAX_MISSING_LISTED
    [dist] = [d for d in inventory["distributions"] if d["path"] == dist_info]
    rows = {r["path"] for r in dist["record"]}
    assert "litellm/router.py" in rows  # the file that exists keeps its row
    kept_absent = sorted(f"{SITE}/{r}" for r in rows if r.startswith(ABSENT))
    assert kept_absent == absent[:MAX_MISSING_LISTED]  # the first absent rows by path
    assert dist["record_rows"] == ROWS + len(rows) - len(kept_absent)  # every row counted
    assert inventory_text.count(ABSENT) < 2 * MAX_MISSING_LISTED + 2 * MAX_GAPS_PER_DISTRIBUTION

    pack = write_later_pack(tmp_path / "packs", ROUTER)
    out = tmp_path / "analysis"
    assert main(["analyze", str(bundle), "--signatures", str(pack), "--output", str(out)]) == 1
    analysis = only_bundle(out)
    doc = load(analysis, "findings.json")
    hits = {
        p for f in doc["findings"] if f["rule"] == "later-2026-12/file/router" for p in f["paths"]
    }
    assert hits == {f"{SITE}/litellm/router.py"}
    [left_out] = [
        g
        for g in load(analysis, "coverage.json")["gaps"]
        if g["area"] == "bundle" and g["path"] == dist_info
    ]
    assert left_out["reason"] == "vanished"
    # YARA redone on the bundle: the kept absent rows have no copy, bounded the same way
    yara = [g for g in load(analysis, "coverage.json")["gaps"] if g["area"] == "file/yara"]
    assert len([g for g in yara if g["path"] and ABSENT in g["path"]]) == MAX_GAPS_PER_DISTRIBUTION
    [rest] = [g for g in yara if g["path"] == dist_info]
    more_yara = MAX_MISSING_LISTED - MAX_GAPS_PER_DISTRIBUTION
    assert rest["detail"].startswith(f"{more_yara} more files listed in the RECORD of litellm")
    more = ROWS - MAX_MISSING_LISTED
    assert left_out["detail"].startswith(f"{more} of the {dist['record_rows']} rows of its RECORD")
