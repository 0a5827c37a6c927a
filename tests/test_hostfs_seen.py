"""One ``lstat`` per hashed file: a caller that has just taken a file's ``lstat`` hands it to the
door (``seen``), which opens that file without asking again. What was seen is what is read: a
file replaced, or swapped for a link or a FIFO, between the ``lstat`` and the ``open`` is a
``vanished`` gap, never the new file's bytes, never a link followed, never a blocked read; the
scan's memories (hashes by file, digests by identity) keep nothing of it."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from builders import FakeRoot
from imagebuild import oci_image
from sitesweep.budget import budget_of, hash_file, known_digest
from sitesweep.content import HostContent
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.distinfo import read_distribution
from sitesweep.metadata.integrity import verify_records
from sitesweep.metadata.model import Distribution
from sitesweep.model import Gap, GapReason, HostPath

OLD = b"the file the lstat saw\n"
NEW = b"another file put there since\n"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    tree = tmp_path / "host"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_bytes(OLD)
    (tree / "secret").write_bytes(b"root:SECRET\n")
    return tree


def _replace_with_file(host: Path) -> None:
    (host / "pkg" / "new.py").write_bytes(NEW)
    (host / "pkg" / "new.py").replace(host / "pkg" / "mod.py")


def _replace_with_link(host: Path) -> None:
    (host / "pkg" / "mod.py").unlink()
    (host / "pkg" / "mod.py").symlink_to("/secret")


def _replace_with_fifo(host: Path) -> None:
    (host / "pkg" / "mod.py").unlink()
    os.mkfifo(host / "pkg" / "mod.py")


def test_the_file_seen_is_read_without_a_second_lstat(host: Path) -> None:
    root = HostRoot(host)
    seen = root.stat_result("/pkg/mod.py")
    assert root.digest("/pkg/mod.py", 1 << 20, seen=seen).sha256 == hashlib.sha256(OLD).hexdigest()
    with root.open_nofollow("/pkg/mod.py", seen) as fh:
        assert fh.read(100) == OLD
    os.link(host / "pkg" / "mod.py", host / "pkg" / "linked.py")  # the same file elsewhere
    with root.open_nofollow("/pkg/linked.py", seen) as fh:
        assert fh.read(100) == OLD


@pytest.mark.parametrize(
    "swap",
    [_replace_with_file, _replace_with_link, _replace_with_fifo],
    ids=["file", "link", "fifo"],
)
def test_a_file_swapped_after_its_lstat_is_not_read(host: Path, swap: object) -> None:
    root = HostRoot(host)
    seen = root.stat_result("/pkg/mod.py")
    swap(host)  # type: ignore[operator]
    with pytest.raises(HostReadError) as caught:
        root.digest("/pkg/mod.py", 1 << 20, seen=seen)
    assert caught.value.reason is GapReason.VANISHED
    assert "changed while being opened" in caught.value.detail
    with pytest.raises(HostReadError) as caught:
        root.open_nofollow("/pkg/mod.py", seen)
    assert caught.value.reason is GapReason.VANISHED


def test_hash_file_keeps_nothing_of_a_swapped_file(host: Path) -> None:
    """The memo and the identity table keep only what was read from the file seen; the new
    file is then hashed anew (and the YARA pass, asking by identity, reads it)."""
    root = HostRoot(host)
    seen = root.stat_result("/pkg/mod.py")
    _replace_with_file(host)
    with pytest.raises(HostReadError) as caught:
        hash_file(root, "/pkg/mod.py", 1 << 20, seen=seen)
    assert caught.value.reason is GapReason.VANISHED
    budget = budget_of(root)
    assert (budget.hashed, budget.digests, budget.by_identity) == (0, {}, {})
    assert known_digest(root, "/pkg/mod.py") is None
    digest = hash_file(root, "/pkg/mod.py", 1 << 20)
    assert digest.sha256 == hashlib.sha256(NEW).hexdigest()
    assert known_digest(root, "/pkg/mod.py") == (hashlib.sha256(NEW).digest(), len(NEW))


def test_a_copy_changed_since_it_was_hashed_is_not_known(host: Path) -> None:
    root = HostRoot(host)
    hash_file(root, "/pkg/mod.py", 1 << 20)
    assert known_digest(root, "/pkg/mod.py") == (hashlib.sha256(OLD).digest(), len(OLD))
    before = (host / "pkg" / "mod.py").stat()
    with (host / "pkg" / "mod.py").open("r+b") as fh:
        fh.write(b"T")  # same size; the mtime put back: only the ctime tells
    os.utime(host / "pkg" / "mod.py", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert known_digest(root, "/pkg/mod.py") is None


SITE = "/venv/lib/python3.11/site-packages"


def _dist(fake: FakeRoot) -> Distribution:
    files = {"litellm/__init__.py": b"x = 1\n", "litellm/fifo.py": b"y = 2\n"}
    fake.add_dist(SITE, "litellm", "1.83.0", files=files)
    gaps: list[Gap] = []
    dist = read_distribution(HostRoot(fake.path), HostPath(SITE), "litellm-1.83.0.dist-info", gaps)
    assert gaps == []
    return dist


def test_a_record_row_that_is_a_fifo_is_refused_not_read(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path / "host")
    dist = _dist(fake)
    fifo = fake.path / SITE.lstrip("/") / "litellm" / "fifo.py"
    fifo.unlink()
    os.mkfifo(fifo)  # a read would block: the door refuses it before any open
    gaps: list[Gap] = []
    root = HostRoot(fake.path)
    (check,) = verify_records(root, [dist], {}, frozenset({"litellm"}), False, 1 << 20, gaps)
    assert [(g.path, g.reason) for g in gaps] == [
        (f"{SITE}/litellm/fifo.py", GapReason.SPECIAL_FILE)
    ]
    assert (check.missing, check.modified) == ((), ())
    assert check.verified == len(dist.record) - 2  # not the FIFO, not RECORD's own row
    assert os.lstat(fifo).st_ino not in {ident[1] for ident in budget_of(root).by_identity}


def _tree(tmp_path: Path) -> FakeRoot:
    fake = FakeRoot(tmp_path / "tree")
    fake.add_file("/pkg/mod.py", OLD)
    fake.add_file("/pkg/copy.py", OLD)
    (fake.path / "pkg" / "linked.py").hardlink_to(fake.path / "pkg" / "mod.py")
    fake.add_symlink("/pkg/link.py", "/pkg/mod.py")
    fake.add_symlink("/via", "/pkg")  # a parent that is a link resolves inside the root
    return fake


def test_known_by_identity_whatever_the_path(tmp_path: Path) -> None:
    """A hard link is the file hashed, and so is its path through a parent link; a symlink to
    it or a copy is not; once its ctime moved, no path is."""
    fake = _tree(tmp_path)
    root = HostRoot(fake.path)
    content = HostContent(root)
    asked = ("/pkg/mod.py", "/pkg/linked.py", "/via/mod.py", "/pkg/link.py", "/pkg/copy.py")
    assert [content.known(p) for p in asked] == [None] * 5  # nothing hashed yet
    hash_file(root, "/pkg/mod.py", 1 << 20)
    old = (hashlib.sha256(OLD).digest(), len(OLD))
    assert [content.known(p) for p in asked] == [old, old, old, None, None]
    (fake.path / "pkg" / "linked.py").chmod(0o600)  # the ctime moves, for every name
    assert [content.known(p) for p in asked] == [None] * 5


def test_a_read_after_known_reads_the_file_looked_up(tmp_path: Path) -> None:
    """known() and the read() of the same path that follows in the same thread share one
    lstat: a file replaced in between is a vanished gap, not the new bytes read as if they were
    the file looked up. Another path, or another thread, asks the door afresh."""
    fake = _tree(tmp_path)
    root = HostRoot(fake.path)
    content = HostContent(root)
    hash_file(root, "/pkg/copy.py", 1 << 20)  # something hashed: known() looks files up
    assert content.known("/pkg/mod.py") is None
    assert content.read("/pkg/mod.py", 1 << 20) == OLD
    assert content.known("/pkg/mod.py") is None
    _replace_with_file(fake.path)
    with pytest.raises(HostReadError) as caught:
        content.read("/pkg/mod.py", 1 << 20)
    assert caught.value.reason is GapReason.VANISHED
    assert content.read("/pkg/mod.py", 1 << 20) == NEW  # asked again: the file there now
    assert content.known("/pkg/mod.py") is None
    _replace_with_link(fake.path)
    with pytest.raises(HostReadError) as caught:
        content.read("/pkg/mod.py", 1 << 20)
    assert caught.value.reason is GapReason.VANISHED  # never followed to /secret
    assert content.known("/pkg/copy.py") is not None
    with ThreadPoolExecutor(1) as pool:  # this thread's lookup is not another thread's
        assert pool.submit(content.read, "/pkg/copy.py", 1 << 20).result() == OLD


def test_an_image_door_takes_the_lstat_seen(tmp_path: Path) -> None:
    image = tmp_path / "image.tar"
    oci_image(image, [_tree(tmp_path).path], ["ADD tree"], {})
    root = HostRoot.image(image)
    content = HostContent(root)
    digest = hash_file(root, "/pkg/mod.py", 1 << 20, seen=root.stat_result("/pkg/mod.py"))
    assert digest.sha256 == hashlib.sha256(OLD).hexdigest()
    assert content.known("/pkg/mod.py") == (hashlib.sha256(OLD).digest(), len(OLD))
    assert content.read("/pkg/mod.py", 1 << 20) == OLD
    with pytest.raises(HostReadError) as caught:
        content.read("/pkg/link.py", 1 << 20)
    assert caught.value.reason is GapReason.SPECIAL_FILE
