"""File names that are not UTF-8 or that hold newlines are kept exactly in the bundle.

Linux names are bytes. sitesweep carries undecodable bytes as surrogate escapes, and the bundle's
JSON is ASCII-only, so ``os.fsencode`` of a path read back from the bundle gives the original
bytes. Evidence copies get sanitised names; the index names the host path exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, gap_paths, load, scan

pytestmark = pytest.mark.nonroot

ODD_PTH = b"evil\xff\xfe\nline2\r.pth"
ODD_DIR = b"caf\xe9-1.0.dist-info"
ODD_HOOK_DIR = b"weird\n\xc3(\x80"


def _host(name: bytes) -> str:
    return SITE + "/" + os.fsdecode(name)


def test_odd_names_are_kept_exactly(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    site = os.fsencode(fake_root.host(SITE))
    with open(site + b"/" + ODD_PTH, "wb") as fh:
        fh.write(malicious_pth_content(fake_root.marker).encode())
    Path(os.fsdecode(site + b"/" + ODD_DIR)).mkdir()
    with open(site + b"/" + ODD_DIR + b"/METADATA", "wb") as fh:
        fh.write(b"Metadata-Version: 2.1\nName: caf\xc3\xa9\nVersion: 1.0\n")
    Path(os.fsdecode(site + b"/" + ODD_HOOK_DIR)).mkdir()
    os.mkfifo(site + b"/" + ODD_HOOK_DIR + b"/x\xff.pth")  # a gap deep under an odd name
    os.mkfifo(site + b"/fifo\n\xff.pth")

    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    raw = (bundle / "inventory.json").read_bytes()
    assert raw.isascii(), "bundle JSON is ASCII; odd bytes travel as escapes"
    inventory = json.loads(raw)
    pth_paths = {p["file"]["path"] for p in inventory["pth_files"]}
    assert _host(ODD_PTH) in pth_paths
    assert os.fsencode(_host(ODD_PTH)) == os.fsencode(SITE) + b"/" + ODD_PTH
    dist_paths = {d["path"] for d in inventory["distributions"]}
    assert _host(ODD_DIR) in dist_paths
    evidence = {e["host_path"]: e for e in load(bundle, "evidence/index.json")}
    assert evidence[_host(ODD_PTH)]["copied"] is True
    copy = bundle / evidence[_host(ODD_PTH)]["bundle_path"]
    assert copy.read_bytes() == fake_root.host(SITE).joinpath(os.fsdecode(ODD_PTH)).read_bytes()
    assert "\n" not in copy.name
    assert copy.name.isascii()
    assert _host(b"fifo\n\xff.pth") in gap_paths(bundle, "special_file")
    findings = load(bundle, "findings.json")["findings"]
    assert any(_host(ODD_PTH) in f["paths"] for f in findings)
    assert not fake_root.marker.exists()
