"""HostContent.read, the YARA check's read: one lstat, never through a final link, bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders import FakeRoot
from sitesweep.content import HostContent
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot, read_to_end
from sitesweep.model import GapReason


def _error(root: FakeRoot, host: str, limit: int = 1 << 20) -> HostReadError:
    with pytest.raises(HostReadError) as exc:
        HostContent(HostRoot(root.path)).read(host, limit)
    assert exc.value.path == host
    return exc.value


@pytest.mark.parametrize(
    "host", ["/srv/app/lib/mod.py", "/srv/link-abs/mod.py", "/srv/link-rel/mod.py"]
)
def test_parent_links_resolve_inside_the_root(linked: FakeRoot, host: str) -> None:
    root = HostRoot(linked.path)
    assert HostContent(root).read(host, 100) == b"x = 1\n" == root.read_bytes(host, 100)


def test_an_empty_file_reads_as_empty(linked: FakeRoot) -> None:
    assert HostContent(HostRoot(linked.path)).read("/srv/app/lib/empty.py", 0) == b""


@pytest.mark.parametrize("host", ["/srv/app/lib/file-link", "/srv/app/lib/escape"])
def test_a_final_symlink_is_refused_not_followed(linked: FakeRoot, host: str) -> None:
    error = _error(linked, host)
    assert error.reason is GapReason.SPECIAL_FILE
    assert error.detail == "symbolic link: not followed"


def test_an_escaping_parent_stays_in_the_root(linked: FakeRoot) -> None:
    data = HostContent(HostRoot(linked.path)).read("/srv/up/etc/passwd", 1 << 20)
    assert data == linked.host("/etc/passwd").read_bytes()  # the fixture's, not this machine's


def test_unreadable_paths_are_gaps_naming_the_file(linked: FakeRoot) -> None:
    os.mkfifo(linked.host("/srv/fifo"))
    assert _error(linked, "/srv/fifo").reason is GapReason.SPECIAL_FILE  # never opened
    assert _error(linked, "/srv/app/lib").reason is GapReason.SPECIAL_FILE
    assert _error(linked, "/srv/loop-a/mod.py").reason is GapReason.SYMLINK_LOOP
    assert _error(linked, "/srv/app/lib/missing.py").reason is GapReason.VANISHED
    assert _error(linked, "/srv/app/lib/mod.py/under-a-file").reason is GapReason.VANISHED
    for directory in ("/", "/srv/app/lib/", "/srv/app/lib/.", "/srv/link-abs/.."):
        assert _error(linked, directory).reason is GapReason.SPECIAL_FILE
    for not_a_directory in ("/srv/app/lib/mod.py/", "/srv/app/lib/file-link/"):
        assert _error(linked, not_a_directory).reason is GapReason.VANISHED  # never read


def test_a_file_over_the_limit_is_too_large(linked: FakeRoot) -> None:
    error = _error(linked, "/srv/app/lib/mod.py", limit=5)
    assert (error.reason, error.detail) == (GapReason.TOO_LARGE, "larger than 5 bytes")


@pytest.mark.parametrize(
    ("size", "why"),
    [(6, "unchanged"), (0, "size 0, as /proc says"), (2, "grew after fstat"), (50, "shrank")],
)
def test_the_read_returns_what_the_file_holds_whatever_fstat_said(
    tmp_path: Path, size: int, why: str
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abcdef")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_to_end("/f", fd, 100, size) == b"abcdef", why
    finally:
        os.close(fd)


def test_a_file_that_grew_past_the_limit_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 5000)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(HostReadError) as exc:
            read_to_end("/f", fd, 4096, 10)  # fstat said 10 bytes; the file now holds 5000
    finally:
        os.close(fd)
    assert exc.value.reason is GapReason.TOO_LARGE
