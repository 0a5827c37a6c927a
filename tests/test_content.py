"""Content sources: the host door for scans, a bundle's evidence copies for analyze."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List

import pytest

from builders import FakeRoot
from sitesweep.content import EvidenceContent, EvidenceCopy, HostContent
from sitesweep.errors import BundleError, HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason


def _bundle(tmp_path: Path, copies: Dict[str, bytes], extra: List[object]) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "evidence").mkdir(parents=True)
    index: List[object] = []
    for n, (host, data) in enumerate(sorted(copies.items())):
        name = f"evidence/{n}.evidence"
        (bundle / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        index.append(
            {"host_path": host, "copied": True, "bundle_path": name, "copied_sha256": digest}
        )
    (bundle / "evidence" / "index.json").write_text(json.dumps(index + extra))
    return bundle


def test_host_content_reads_through_the_root(fake_root: FakeRoot) -> None:
    fake_root.add_file("/srv/a.txt", b"abc")
    os.mkfifo(fake_root.host("/srv/fifo"))
    content = HostContent(HostRoot(fake_root.path))
    assert content.read("/srv/a.txt", 10) == b"abc"
    with pytest.raises(HostReadError) as exc:
        content.read("/srv/a.txt", 2)
    assert exc.value.reason is GapReason.TOO_LARGE
    with pytest.raises(HostReadError) as exc:
        content.read("/srv/fifo", 10)
    assert exc.value.reason is GapReason.SPECIAL_FILE


def test_evidence_content_serves_and_bounds_copies(tmp_path: Path) -> None:
    not_copied = {"host_path": "/x/gone.pth", "copied": False, "reason": "vanished"}
    bundle = _bundle(tmp_path, {"/x/a.pth": b"import os\n"}, [not_copied])
    content = EvidenceContent.from_bundle(bundle)
    assert content.read("/x/a.pth", 100) == b"import os\n"
    with pytest.raises(HostReadError) as exc:
        content.read("/x/a.pth", 3)
    assert exc.value.reason is GapReason.TOO_LARGE
    assert exc.value.path == "/x/a.pth"
    for missing in ("/x/gone.pth", "/never/seen.py"):
        with pytest.raises(HostReadError) as exc:
            content.read(missing, 100)
        assert "no copy in the bundle" in exc.value.detail


def test_altered_copy_is_refused(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, {"/x/a.pth": b"import os\n"}, [])
    copy = bundle / "evidence" / "0.evidence"
    copy.write_bytes(b"import evil\n")
    with pytest.raises(HostReadError) as exc:
        EvidenceContent.from_bundle(bundle).read("/x/a.pth", 100)
    assert "does not match" in exc.value.detail


@pytest.mark.parametrize("where", ["/etc/passwd", "evidence/../manifest.json", "report.txt"])
def test_index_pointing_outside_evidence_is_refused(tmp_path: Path, where: str) -> None:
    entry = {"host_path": "/x", "copied": True, "bundle_path": where}
    bundle = _bundle(tmp_path, {}, [entry])
    with pytest.raises(BundleError):
        EvidenceContent.from_bundle(bundle)


def test_symlinked_copy_does_not_leave_the_bundle(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    bundle = _bundle(tmp_path, {}, [])
    (bundle / "evidence" / "link.evidence").symlink_to(secret)
    content = EvidenceContent(bundle, {"/x": EvidenceCopy("evidence/link.evidence", None)})
    with pytest.raises(HostReadError):
        content.read("/x", 100)


def test_missing_index_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError):
        EvidenceContent.from_bundle(tmp_path)


def test_host_content_never_reads_through_a_final_symlink(fake_root: FakeRoot) -> None:
    fake_root.add_file("/etc/shadow", "root:SECRET:19000::::::\n", mode=0o600)
    fake_root.add_symlink("/srv/pkg/utils.py", "/etc/shadow")
    with pytest.raises(HostReadError) as exc:
        HostContent(HostRoot(fake_root.path)).read("/srv/pkg/utils.py", 1 << 20)
    assert exc.value.reason is GapReason.SPECIAL_FILE
    assert "symbolic link" in exc.value.detail
