"""Identical installs that share work (one RECORD text, hard-linked files) must still be judged
file by file: a tampered copy among hard links is found as modified and its bytes are kept, and
a RECORD row naming a symlink never has its target hashed into the bundle."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Dict, List

from builders import FakeRoot
from scanrun import bundle_mentions, load, scan

ROUTER = b"# litellm/router.py of a clean release\nclass Router:\n    pass\n"
TAMPERED = b"# litellm/router.py of a clean release\nimport os;os.system('')\n"[:62]
CLEAN = {"litellm/__init__.py": b'__version__ = "1.82.6"\n', "litellm/router.py": ROUTER}
HOMES = ("alice", "bob", "carol")
SHADOW = b"root:$6$s3cr3tsalt$0123456789abcdefSECRETHASH:19000:0:99999:7:::\n"


def site(user: str) -> str:
    return f"/home/{user}/app/.venv/lib/python3.11/site-packages"


def index_of(bundle: Path) -> Dict[str, Dict[str, Any]]:
    entries: List[Dict[str, Any]] = load(bundle, "evidence/index.json")
    return {e["host_path"]: e for e in entries}


def test_a_tampered_copy_among_hard_links_is_modified_and_kept(tmp_path: Path) -> None:
    """bob's litellm is alice's, hard-linked (uv's default), RECORD included; carol's is hard
    linked too but for router.py, a copy changed to other bytes of the same size with alice's
    mtime put back: only carol's router.py fails its RECORD, and its own bytes are kept."""
    assert len(TAMPERED) == len(ROUTER)
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([(u, 1000 + n, f"/home/{u}") for n, u in enumerate(HOMES)])
    for user in HOMES:
        root.add_venv(f"/home/{user}/app/.venv")
    alice = root.add_dist(site("alice"), "litellm", "1.82.6", files=CLEAN)
    for user in ("bob", "carol"):
        for src in sorted(root.host(site("alice")).rglob("*")):
            rel = src.relative_to(root.host(site("alice")))
            dst = root.host(site(user)) / rel
            if src.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.link(src, dst)
    original = root.host(f"{site('alice')}/litellm/router.py")
    carol = root.host(f"{site('carol')}/litellm/router.py")
    carol.unlink()
    carol.write_bytes(TAMPERED)
    st = original.stat()
    os.utime(carol, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (alice / "RECORD").stat().st_nlink == 3

    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 1
    inventory = load(bundle, "inventory.json")
    modified = {m["file"]["path"] for c in inventory["record_checks"] for m in c["modified"]}
    assert modified == {f"{site('carol')}/litellm/router.py"}
    kept = index_of(bundle)
    entry = kept[f"{site('carol')}/litellm/router.py"]
    assert entry["copied"] is True
    assert entry["kept"] == "content"
    assert (bundle / entry["bundle_path"]).read_bytes() == TAMPERED
    for user in ("alice", "bob"):
        facts = kept[f"{site(user)}/litellm/router.py"]
        assert facts["kept"] == "hashed only"
        assert facts["sha256"] == hashlib.sha256(ROUTER).hexdigest()


def test_a_record_row_naming_a_symlink_does_not_hash_its_target(tmp_path: Path) -> None:
    """pip lists compiled bytecode without a hash; a row that is a symlink to /etc/shadow (which
    resolves inside the root) must not have the target read: neither its bytes nor its SHA-256
    end up in the bundle."""
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv("/home/alice/app/.venv")
    root.add_file("/etc/shadow", SHADOW, mode=0o600)
    dist_info = root.add_dist(site("alice"), "litellm", "1.82.6", files=CLEAN)
    rel = "litellm/__pycache__/router.cpython-311.pyc"
    root.add_symlink(f"{site('alice')}/{rel}", "/etc/shadow")
    record = dist_info / "RECORD"
    record.write_text(record.read_text() + f"{rel},,\n")

    code, bundle = scan(root.path, tmp_path / "out")
    assert code in (0, 1)
    assert not bundle_mentions(bundle, hashlib.sha256(SHADOW).hexdigest())
    assert not bundle_mentions(bundle, "SECRETHASH")
    entry = index_of(bundle)[f"{site('alice')}/{rel}"]
    assert entry["copied"] is False
    assert entry["sha256"] is None
