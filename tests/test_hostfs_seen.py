"""One ``lstat`` per hashed file: a caller that has just taken a file's ``lstat`` hands it to the
door (``seen``), which opens that file without asking again. What was seen is what is read: a
file replaced, or swapped for a link or a FIFO, between the ``lstat`` and the ``open`` is a
``vanished`` gap, never the new file's bytes, never a link followed, never a blocked read; the
scan's memories (hashes by file, digests by identity) keep nothing of it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from builders import FakeRoot
from imagebuild import oci_image
from sitesweep.budget import budget_of, hash_file, known_digest, known_digests
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.distinfo import read_distribution
from sitesweep.metadata.integrity import listed_paths, verify_distribution
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
    listed = listed_paths([dist])[SITE]
    check = verify_distribution(root, dist, "/venv", listed, 1 << 20, gaps)
    assert [(g.path, g.reason) for g in gaps] == [
        (f"{SITE}/litellm/fifo.py", GapReason.SPECIAL_FILE)
    ]
    assert (check.missing, check.modified) == ((), ())
    assert check.verified == len(dist.record) - 2  # not the FIFO, not RECORD's own row
    assert os.lstat(fifo).st_ino not in {ident[1] for ident in budget_of(root).by_identity}


PATHS = (
    "/top.txt",
    "/pkg/mod.py",
    "/pkg/linked.py",
    "/pkg/link.py",
    "/pkg/sub",
    "/pkg/sub/deep.py",
    "/pkg/gone.py",
    "/nowhere/x.py",
    "/via/mod.py",
)


def _tree(tmp_path: Path) -> FakeRoot:
    fake = FakeRoot(tmp_path / "tree")
    fake.add_file("/top.txt", b"top\n")
    fake.add_file("/pkg/mod.py", OLD)
    fake.add_file("/pkg/sub/deep.py", b"deep\n")
    (fake.path / "pkg" / "linked.py").hardlink_to(fake.path / "pkg" / "mod.py")
    fake.add_symlink("/pkg/link.py", "/top.txt")
    fake.add_symlink("/via", "/pkg")  # a parent that is a link resolves inside the root
    return fake


def _by_path(root: HostRoot) -> dict[str, tuple[int, int, int]]:
    """What stat_results gives, as (mode, size, mtime) per path."""
    got = dict(root.stat_results(PATHS))
    return {p: (st.st_mode, st.st_size, st.st_mtime_ns) for p, st in got.items()}


def _one_by_one(root: HostRoot) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in PATHS:
        try:
            st = root.stat_result(path)
        except HostReadError:
            continue
        found[path] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def test_many_paths_stated_by_directory_as_one_by_one(tmp_path: Path) -> None:
    fake = _tree(tmp_path)
    root = HostRoot(fake.path)
    got = _by_path(root)
    assert got == _one_by_one(root)
    assert set(got) == set(PATHS) - {"/pkg/gone.py", "/nowhere/x.py"}


def test_many_paths_stated_in_an_image_as_one_by_one(tmp_path: Path) -> None:
    image = tmp_path / "image.tar"
    oci_image(image, [_tree(tmp_path).path], ["ADD tree"], {})
    root = HostRoot.image(image)
    assert _by_path(root) == _one_by_one(root)
    assert "/pkg/sub/deep.py" in _by_path(root)


def test_known_digests_by_identity_whatever_the_path(tmp_path: Path) -> None:
    """A hard link is the file hashed; a link to it or a copy is not; one changed is not."""
    fake = _tree(tmp_path)
    (fake.path / "pkg" / "copy.py").write_bytes(OLD)
    root = HostRoot(fake.path)
    assert known_digests(root, PATHS) == {}  # nothing hashed yet: nothing asked
    hash_file(root, "/pkg/mod.py", 1 << 20)
    old = (hashlib.sha256(OLD).digest(), len(OLD))
    asked = (*PATHS, "/pkg/copy.py")
    same = ("/pkg/mod.py", "/pkg/linked.py", "/via/mod.py")  # by its name, a link, a parent link
    assert known_digests(root, asked) == dict.fromkeys(same, old)
    (fake.path / "pkg" / "linked.py").chmod(0o600)  # the ctime moves, for both names
    assert known_digests(root, asked) == {}
