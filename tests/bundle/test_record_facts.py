"""RECORD rows as facts: one RECORD shared by many installs is worked out once, yet each install
gets exactly its own host paths and hashes, odd rows (``..``, ``.``, hidden directories, a
path listed twice, absolute or forged rows) included.

The reference below reads the rows one by one, install by install, as the scan did before the
shared per-RECORD work (``candidates.record_rows``); the scan's answers must be the same.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from builders import FakeRoot
from scanrun import load, scan
from sitesweep.candidates import record_hex, record_paths, record_rows
from sitesweep.facts import recorded_hashes
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import Distribution
from sitesweep.pipeline import ScanOptions, run_collect

HOMES = ("alice", "bob", "carol")
HIDDEN = b"# a data file in a hidden directory of the release\n"
DOTTED = b"# listed through ./\n"
TWICE_OLD = b"# the first row's bytes\n"
TWICE = b"# the bytes the last row of a path listed twice states\n"
SCRIPT = b"#!python\n"


def spec(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def prefix(user: str) -> str:
    return f"/home/{user}/app/.venv"


def site(user: str) -> str:
    return f"{prefix(user)}/lib/python3.11/site-packages"


ODD_ROWS = (
    f"litellm/.hidden/data.txt,{spec(HIDDEN)},{len(HIDDEN)}\n"  # "/." : resolved, stays
    f"litellm/./dotted.py,{spec(DOTTED)},{len(DOTTED)}\n"  # "./": resolved to litellm/dotted.py
    f"litellm/dotted.py,{spec(DOTTED)},{len(DOTTED)}\n"
    f"litellm/twice.py,{spec(TWICE_OLD)},{len(TWICE_OLD)}\n"
    f"litellm/twice.py,{spec(TWICE)},{len(TWICE)}\n"  # listed twice: the last row counts
    f"../../../bin/litellm,{spec(SCRIPT)},{len(SCRIPT)}\n"  # a script: in the environment
    "../../../../../../../root/.ssh/id_rsa,sha256=AAAA,1\n"  # forged: outside it
    "/etc/passwd,,\n"  # absolute: never a listed path
    f"litellm//double.py,{spec(DOTTED)},{len(DOTTED)}\n"
    "litellm/nohash.py,,\n"
    "litellm/badhash.py,md5=abc,3\n"
)


def host_with_shared_record(root: FakeRoot) -> None:
    """The same litellm 1.82.6 (one RECORD text, odd rows included) in three venvs."""
    root.add_passwd([(u, 1000 + n, f"/home/{u}") for n, u in enumerate(HOMES)])
    for user in HOMES:
        root.add_venv(prefix(user))
        dist_info = root.add_dist(site(user), "litellm", "1.82.6")
        for rel, data in (
            ("litellm/.hidden/data.txt", HIDDEN),
            ("litellm/dotted.py", DOTTED),
            ("litellm/twice.py", TWICE),
            ("litellm/double.py", DOTTED),
        ):
            root.add_file(f"{site(user)}/{rel}", data)
        root.add_file(f"{prefix(user)}/bin/litellm", SCRIPT)
        record = dist_info / "RECORD"
        record.write_text(record.read_text() + ODD_ROWS)


def reference_paths(dist: Distribution, inventory: Inventory) -> Iterator[str]:
    """Each row of one install in turn: its path joined and resolved, kept inside its env."""
    site_dir = dist.site_dir.rstrip("/")
    env = inventory.environment_of(site_dir)
    bound = (env.prefix if env else site_dir).rstrip("/") + "/"
    for entry in dist.record:
        if not entry.path or entry.path.startswith("/"):
            continue
        path = posixpath.normpath(f"{site_dir}/{entry.path}")
        if path.startswith(bound):
            yield path


def reference_hashes(inventory: Inventory) -> List[Tuple[str, str, Optional[int]]]:
    """(path, SHA-256 hex, size) of each install's rows inside its site dir, the last row of
    the path the row resolves to giving hash and size; files failing their RECORD left out."""
    changed = {m.file.path for c in inventory.record_checks for m in c.modified}
    changed.update(p for c in inventory.record_checks for p in c.missing)
    found = []
    for dist in inventory.distributions:
        rows: Dict[str, object] = {e.path: e for e in dist.record}
        site_dir = dist.site_dir.rstrip("/")
        for path in reference_paths(dist, inventory):
            if path in changed:
                continue
            entry = rows.get(path[len(site_dir) + 1 :]) if path.startswith(site_dir + "/") else None
            digest = record_hex(entry.hash) if entry is not None else None  # type: ignore[attr-defined]
            if entry is not None and digest is not None:
                found.append((path, digest, entry.size))  # type: ignore[attr-defined]
    return found


def test_a_shared_record_gives_each_install_its_own_rows(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    host_with_shared_record(root)
    inventory = run_collect(ScanOptions(root=root.path, output=None)).result.inventory
    installs = [d for d in inventory.distributions if d.name == "litellm"]
    assert len(installs) == len(HOMES)
    assert len({id(d.record) for d in installs}) == 1, "one parsed RECORD for the three"
    assert record_rows(installs[0].record).layout.odd, "the odd rows are there"
    for dist in installs:
        assert list(record_paths(dist, inventory)) == list(reference_paths(dist, inventory))
        assert f"{prefix(HOMES[0])}/bin/litellm" in list(record_paths(installs[0], inventory))
        assert not [p for p in record_paths(dist, inventory) if "/root/" in p or p == "/etc/passwd"]
    facts = list(recorded_hashes(inventory))
    assert facts == reference_hashes(inventory)
    by_path: Dict[str, Tuple[str, Optional[int]]] = {p: (d, s) for p, d, s in facts}
    for user in HOMES:
        assert (
            by_path[f"{site(user)}/litellm/.hidden/data.txt"][0]
            == hashlib.sha256(HIDDEN).hexdigest()
        )
        dotted = [f for f in facts if f[0] == f"{site(user)}/litellm/dotted.py"]
        assert len(dotted) == 2, "listed plainly and through ./: both rows are facts"
        # listed twice with different hashes: one row is not the file, it fails its RECORD
        assert f"{site(user)}/litellm/twice.py" not in by_path
        assert f"{site(user)}/litellm/nohash.py" not in by_path
    wanted = frozenset({hashlib.sha256(HIDDEN).hexdigest(), "0" * 64})
    assert list(recorded_hashes(inventory, digests=wanted)) == [f for f in facts if f[1] in wanted]
    assert list(recorded_hashes(inventory, names=frozenset({"six"}))) == []


def test_a_pack_naming_a_hidden_row_by_hash_finds_every_install(tmp_path: Path) -> None:
    """A file listed through an odd RECORD row (in a hidden directory) is matched by the hash
    its row states, in every install of the shared RECORD."""
    root = FakeRoot(tmp_path / "host")
    host_with_shared_record(root)
    pack = tmp_path / "packs" / "hidden-2026-12"
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text(
        f"""format = 1
id = "hidden-2026-12"
title = "A pack naming a data file by hash"
version = "1"

[[affected]]
name = "litellm"
specifiers = ["==9.9.9"]
severity = "critical"
note = "A later bad release."

[[files]]
id = "data"
name = "data.txt"
name_is_indicator = false
sha256 = ["{hashlib.sha256(HIDDEN).hexdigest()}"]
severity = "high"
description = "data.txt of the later bad release."

[remediation]
text = "Remove it."
""",
        encoding="utf-8",
    )
    code, bundle = scan(root.path, tmp_path / "out", "--signatures", str(pack))
    assert code == 1
    findings = load(bundle, "findings.json")["findings"]
    hits = {p for f in findings if f["rule"] == "hidden-2026-12/file/data" for p in f["paths"]}
    assert hits == {f"{site(u)}/litellm/.hidden/data.txt" for u in HOMES}
