"""The evidence policy: content where it matters, facts (path, size, SHA-256) for clean files.

The most common host of an incident has a *clean* release of the targeted package in many
environments. Its files are matched on the host, but their copies buy nothing: the bundle keeps
their facts, and ``analyze`` with a pack published later that names one of those files by
SHA-256 still finds it. An affected release, a ``.pth``, a persistence file and a file failing its
RECORD keep their content; ``--evidence full`` keeps everything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List

from builders import FakeRoot, malicious_pth_content
from scanrun import load, only_bundle, scan, write_later_pack
from sitesweep.cli import main

ROUTER = b"# litellm/router.py of a clean release\nclass Router:\n    pass\n"
CLEAN = {"litellm/__init__.py": b'__version__ = "1.82.6"\n', "litellm/router.py": ROUTER}
HOMES = ("alice", "bob", "carol")
LISTED = 6
"""Files the RECORD of each clean install lists."""


def site(user: str) -> str:
    return f"/home/{user}/app/.venv/lib/python3.11/site-packages"


def clean_host(root: FakeRoot) -> None:
    """A clean litellm 1.82.6 in three users' venvs, nothing malicious."""
    root.add_passwd([(u, 1000 + n, f"/home/{u}") for n, u in enumerate(HOMES)])
    for user in HOMES:
        root.add_venv(f"/home/{user}/app/.venv")
        root.add_dist(site(user), "litellm", "1.82.6", files=CLEAN)


def index_of(bundle: Path) -> List[Dict[str, Any]]:
    entries: List[Dict[str, Any]] = load(bundle, "evidence/index.json")
    return entries


def test_clean_targeted_release_keeps_facts_not_copies(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 0
    router = [e for e in index_of(bundle) if e["host_path"].endswith("/litellm/router.py")]
    assert len(router) == len(HOMES)
    digest = hashlib.sha256(ROUTER).hexdigest()
    for entry in router:
        assert entry["copied"] is False
        assert entry["kept"] == "hashed only"
        assert entry["sha256"] == digest
        assert entry["size"] == len(ROUTER)
    copies = [p for p in (bundle / "evidence").iterdir() if p.name != "index.json"]
    assert not [p for p in copies if ROUTER in p.read_bytes()], "no copy of a clean file"
    facts_only = [e for e in index_of(bundle) if e["kept"] == "hashed only"]
    # every file RECORD lists: two package files, METADATA, WHEEL, INSTALLER (their hashes
    # from RECORD) and RECORD itself (listed without a hash: its hash from the scan's read)
    assert len(facts_only) == LISTED * len(HOMES)
    manifest = load(bundle, "manifest.json")
    assert manifest["evidence_policy"] == {"mode": "policy", "hashed_only": len(facts_only)}


def test_bytecode_pip_listed_without_a_hash_is_hashed_not_copied(tmp_path: Path) -> None:
    """pip lists the ``.pyc`` files it compiled in RECORD without a hash: a clean release's
    bytecode is kept as facts, with the SHA-256 of the bytes the scan read (not copied)."""
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    pyc = b"\xa7\r\r\n" + bytes(12) + b"compiled router of a clean release"
    rel = "litellm/__pycache__/router.cpython-311.pyc"
    for user in HOMES:
        root.add_file(f"{site(user)}/{rel}", pyc)
        record = root.host(f"{site(user)}/litellm-1.82.6.dist-info/RECORD")
        record.write_text(record.read_text() + f"{rel},,\n")
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 0
    entries = {e["host_path"]: e for e in index_of(bundle)}
    for user in HOMES:
        entry = entries[f"{site(user)}/{rel}"]
        assert entry["kept"] == "hashed only"
        assert entry["copied"] is False
        assert entry["sha256"] == hashlib.sha256(pyc).hexdigest()
        assert entry["size"] == len(pyc)
    copies = [p for p in (bundle / "evidence").iterdir() if p.name != "index.json"]
    assert not [p for p in copies if p.read_bytes() == pyc], "no copy of clean bytecode"


def test_analyze_with_a_later_pack_finds_a_clean_file_by_its_hash(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    _, bundle = scan(root.path, tmp_path / "out")
    pack = write_later_pack(tmp_path / "packs", ROUTER)
    out = tmp_path / "analysis"
    assert main(["analyze", str(bundle), "--signatures", str(pack), "--output", str(out)]) == 1
    analysis = only_bundle(out)
    doc = load(analysis, "findings.json")
    findings = doc["findings"] if isinstance(doc, dict) else doc
    hits = {p for f in findings if f["rule"] == "later-2026-12/file/router" for p in f["paths"]}
    assert hits == {f"{site(u)}/litellm/router.py" for u in HOMES}


def test_yara_not_redone_on_facts_is_one_gap(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    _, bundle = scan(root.path, tmp_path / "out")
    out = tmp_path / "analysis"
    main(["analyze", str(bundle), "--output", str(out)])
    gaps = load(only_bundle(out), "coverage.json")["gaps"]
    facts = [g for g in gaps if g["reason"] == "hashed_only"]
    assert len(facts) == 1
    assert f"{LISTED * len(HOMES)} files" in facts[0]["detail"]
    assert "--evidence full" in facts[0]["detail"]


def test_what_matters_keeps_its_content(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    bad_site = site("alice").replace("/app/", "/job/")
    root.add_venv("/home/alice/job/.venv")
    root.add_dist(bad_site, "litellm", "1.82.8")
    root.add_pth(bad_site, "litellm_init.pth", malicious_pth_content(root.marker))
    unit = "/home/bob/.config/systemd/user/sysmon.service"
    root.add_file(
        unit, "[Service]\nExecStart=/usr/bin/python3 /home/bob/.config/sysmon/sysmon.py\n"
    )
    # A clean release whose router.py was changed after install: it fails its RECORD.
    tampered = f"{site('carol')}/litellm/router.py"
    root.add_file(tampered, ROUTER + b"import os\n")
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 1
    kept = {e["host_path"]: e for e in index_of(bundle)}
    for path in (
        f"{bad_site}/litellm/__init__.py",  # the affected release
        f"{bad_site}/litellm_init.pth",
        unit,
        tampered,
    ):
        assert kept[path]["copied"] is True, path
        assert kept[path]["kept"] == "content", path
        assert (bundle / kept[path]["bundle_path"]).is_file()
    assert kept[f"{site('alice')}/litellm/router.py"]["kept"] == "hashed only"
    assert not root.marker.exists()


def test_full_evidence_keeps_every_content(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    _, bundle = scan(root.path, tmp_path / "out", "--evidence", "full")
    entries = index_of(bundle)
    assert entries
    assert all(e["copied"] is True for e in entries)
    assert json.loads((bundle / "manifest.json").read_text())["evidence_policy"]["mode"] == "full"


def test_facts_of_the_same_file_are_neighbours_in_the_index(tmp_path: Path) -> None:
    """The same clean file in every environment: its facts-only entries are adjacent (grouped by
    SHA-256, so the archive compresses them together); content entries come first."""
    root = FakeRoot(tmp_path / "host")
    clean_host(root)
    _, bundle = scan(root.path, tmp_path / "out")
    entries = index_of(bundle)
    kinds = [e["kept"] for e in entries]
    assert kinds == sorted(kinds, key=lambda k: k == "hashed only")
    facts = [e for e in entries if e["kept"] == "hashed only"]
    digests = [e["sha256"] for e in facts]
    assert digests == sorted(digests)
    at = [i for i, e in enumerate(facts) if e["host_path"].endswith("/litellm/router.py")]
    assert at == list(range(at[0], at[0] + len(HOMES)))
