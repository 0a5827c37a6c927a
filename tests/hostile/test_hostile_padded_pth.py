"""A malicious ``.pth`` padded past the 1 MiB cap: Python runs it, so sitesweep grades it.

Before issue 18 such a file was only a ``too_large`` gap and the scan exited 0. Now it is read in
one stream: every line of its first MiB and every executable line after it are graded, the
inventory records its true size and hash, the gap says how it was read, and the evidence copy is
kept (the first MiB when the whole file is over the evidence limit, marked ``truncated``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, gap_paths, load, scan
from sitesweep.metadata import PTH_LIMIT
from sitesweep.metadata.pth import PthStream, parse_pth

pytestmark = pytest.mark.nonroot

PTH = f"{SITE}/zz_padded.pth"


def _pth_findings(bundle: Path) -> List[Dict[str, Any]]:
    findings = load(bundle, "findings.json")["findings"]
    return [f for f in findings if PTH in f["paths"] and f["severity"] in ("critical", "high")]


def _entry(bundle: Path) -> Dict[str, Any]:
    (entry,) = [p for p in load(bundle, "inventory.json")["pth_files"] if p["file"]["path"] == PTH]
    return dict(entry)


def _copy(bundle: Path) -> Dict[str, Any]:
    (copy,) = [e for e in load(bundle, "evidence/index.json") if e["host_path"] == PTH]
    return dict(copy)


@pytest.mark.parametrize(
    "shape",
    ["one padded line", "padding lines before the import line"],
)
def test_padded_pth_is_graded_with_its_true_size_and_hash(
    fake_root: FakeRoot, tmp_path: Path, shape: str
) -> None:
    fake_root.add_venv(VENV)
    line = malicious_pth_content(fake_root.marker)
    if shape == "one padded line":
        content = malicious_pth_content(fake_root.marker, pad_to=2 * PTH_LIMIT).encode()
    else:
        content = b"".join(b"/opt/lib/%07d\n" % n for n in range(160_000)) + line.encode()
    assert len(content) > PTH_LIMIT
    fake_root.add_file(PTH, content)
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    assert _pth_findings(bundle), "the executable line past the cap is graded"
    assert PTH in gap_paths(bundle, "too_large")
    entry = _entry(bundle)
    assert entry["truncated"] is True
    assert entry["file"]["size"] == len(content)
    assert entry["file"]["sha256"] == hashlib.sha256(content).hexdigest()
    copy = _copy(bundle)
    assert copy["copied"] is True
    assert (bundle / copy["bundle_path"]).read_bytes() == content  # under the evidence limit
    assert not fake_root.marker.exists()


def test_pth_over_the_evidence_limit_keeps_a_truncated_copy(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    fake_root.add_venv(VENV)
    tail = ("\n" + malicious_pth_content(fake_root.marker)).encode()
    hole = 70 << 20  # sparse: 70 MiB of NULs, then the import line
    path = fake_root.add_file(PTH, b"")
    with path.open("r+b") as fh:
        fh.seek(hole)
        fh.write(tail)
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    assert _pth_findings(bundle)
    entry = _entry(bundle)
    assert entry["file"]["size"] == hole + len(tail)
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    assert entry["file"]["sha256"] == sha.hexdigest()
    copy = _copy(bundle)
    assert copy["truncated"] is True
    assert copy["size"] == hole + len(tail)
    assert copy["sha256"] == sha.hexdigest()
    kept = (bundle / copy["bundle_path"]).read_bytes()
    assert kept == bytes(PTH_LIMIT)
    assert copy["copied_sha256"] == hashlib.sha256(kept).hexdigest()
    json.dumps(entry)  # plain data


def test_stream_splits_like_parse_pth() -> None:
    text = "a\n# c\nimport os\n\n/x\r\nimport\tsys\nlast"
    data = text.encode()
    for size in (1, 2, 3, 5, 8, len(data)):
        stream = PthStream(keep=1 << 10)
        for start in range(0, len(data), size):
            stream.feed(data[start : start + size])
        assert stream.close() == parse_pth(text)
    stream = PthStream(keep=8)
    stream.feed(b"/path/one\n" * 3 + b"x" * 50 + b"\nimport os\n/p\n")
    lines = stream.close()
    assert [(ln.number, ln.text) for ln in lines if ln.kind.value == "exec"] == [(5, "import os")]
