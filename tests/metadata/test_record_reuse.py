"""The same release installed as hard links (uv's default) and as copies: a hard-linked file is
hashed once per scan and its hash reused (counted in each verification's ``reused``); a copy is
another file and is hashed; findings are those of the same host made with copies only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

from builders import FakeRoot
from scanrun import load, scan

FILES = {
    "litellm/__init__.py": b'__version__ = "1.82.6"\n',
    "litellm/router.py": b"class Router:\n    pass\n" * 40,
    "litellm/proxy/ui/app.js": b"document.title = 'litellm';\n" * 20,
}
CACHE = "/home/dev/.cache/uv/archive-v0/litellm-1.82.6"
ENVS = ("/home/dev/a/.venv", "/home/dev/b/.venv", "/home/dev/c/.venv")


def site(venv: str) -> str:
    return f"{venv}/lib/python3.11/site-packages"


def build(root: FakeRoot, linked: bool) -> None:
    """litellm 1.82.6 in three venvs: the last two linked from the first (or copied)."""
    root.add_passwd([("dev", 1000, "/home/dev")])
    for venv in ENVS:
        root.add_venv(venv)
        root.add_dist(site(venv), "litellm", "1.82.6", files=FILES, installer="uv")
    first = site(ENVS[0])
    for venv in ENVS[1:]:
        for rel in FILES:
            target = root.host(f"{site(venv)}/{rel}")
            target.unlink()
            if linked:
                os.link(root.host(f"{first}/{rel}"), target)
            else:
                shutil.copy2(root.host(f"{first}/{rel}"), target)


def checks(bundle: Path) -> Dict[str, Tuple[int, int]]:
    """Site dir -> (verified, reused) of litellm's RECORD verification."""
    rows = load(bundle, "inventory.json")["record_checks"]
    return {r["site_dir"]: (r["verified"], r["reused"]) for r in rows if r["name"] == "litellm"}


def findings(bundle: Path) -> List[Tuple[str, Tuple[str, ...]]]:
    doc = load(bundle, "findings.json")
    return sorted((f["rule"], tuple(f["paths"])) for f in doc["findings"])


def test_hard_linked_files_are_hashed_once(tmp_path: Path) -> None:
    linked = FakeRoot(tmp_path / "linked")
    build(linked, linked=True)
    copied = FakeRoot(tmp_path / "copied")
    build(copied, linked=False)
    _, with_links = scan(linked.path, tmp_path / "out-linked")
    _, with_copies = scan(copied.path, tmp_path / "out-copied")
    files = len(FILES)
    by_site = checks(with_links)
    # whichever install is verified first is hashed; the other two are its links
    assert sorted(reused for _, reused in by_site.values()) == [0, files, files]
    assert all(verified >= files for verified, _ in by_site.values())
    assert all(reused == 0 for _, reused in checks(with_copies).values()), "copies are hashed"
    assert checks(with_copies).keys() == by_site.keys()
    assert [v for v, _ in checks(with_copies).values()] == [v for v, _ in by_site.values()]
    assert findings(with_links) == findings(with_copies)


def test_a_tampered_link_fails_everywhere_it_is_linked(tmp_path: Path) -> None:
    """Hard links are one file: changed through one path, every install fails its RECORD."""
    root = FakeRoot(tmp_path / "host")
    build(root, linked=True)
    with root.host(f"{site(ENVS[0])}/litellm/router.py").open("ab") as fh:
        fh.write(b"import os\n")
    _, bundle = scan(root.path, tmp_path / "out")
    rows = load(bundle, "inventory.json")["record_checks"]
    modified = {m["file"]["path"] for r in rows for m in r["modified"]}
    assert modified == {f"{site(v)}/litellm/router.py" for v in ENVS}
