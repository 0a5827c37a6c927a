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
from scanrun import load, scan
from sitesweep.checks.yara import MAX_GAPS_PER_DISTRIBUTION
from sitesweep.metadata import integrity

ROWS = 5000
VERIFIED = 1000
"""Rows verification reaches (lowered from 50,000 so 4,000 absent rows lie beyond it)."""
SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"
ABSENT = "litellm/proxy/ui/_next/static/chunk"


def spec(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def test_forged_record_of_absent_files_bounded_gaps_no_index_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "MAX_VERIFIED_ROWS", VERIFIED)
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv("/home/alice/app/.venv")
    router = b"class Router:\n    pass\n"
    root.add_dist(SITE, "litellm", "1.82.6", files={"litellm/router.py": router})
    record = root.host(f"{SITE}/litellm-1.82.6.dist-info/RECORD")
    rows = "".join(f"{ABSENT}{i}.js,{spec(b'x')},{i}\n" for i in range(ROWS))
    record.write_text(rows + record.read_text())  # the absent rows first: past the budget
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
