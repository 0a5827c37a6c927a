"""Size and shape extremes: huge and sparse files, a million-row RECORD, 100,000 entries in one
directory, and nesting deeper than Python's recursion limit (and than PATH_MAX)."""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV, gap_paths, load, scan

pytestmark = pytest.mark.nonroot

DIST = f"{SITE}/big-1.0.dist-info"


def test_sparse_10_gib_and_real_100_mib_metadata_are_too_large(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "big", "1.0")
    with fake_root.host(f"{DIST}/METADATA").open("r+b") as fh:
        fh.truncate(10 << 30)  # 10 GiB, sparse: reading it all would take minutes
    fake_root.add_dist(SITE, "fat", "1.0")
    fat = fake_root.host(f"{SITE}/fat-1.0.dist-info/METADATA")
    fat.write_bytes(b"Metadata-Version: 2.1\nName: fat\nVersion: 1.0\n\n" + b"x" * (100 << 20))
    fake_root.add_file(f"{SITE}/sparse.pth", b"")
    with fake_root.host(f"{SITE}/sparse.pth").open("r+b") as fh:
        fh.truncate(10 << 30)
    started = time.monotonic()
    code, bundle = scan(fake_root.path, tmp_path / "out")
    elapsed = time.monotonic() - started
    assert code == 0
    too_large = gap_paths(bundle, "too_large")
    assert {f"{DIST}/METADATA", f"{SITE}/fat-1.0.dist-info/METADATA", f"{SITE}/sparse.pth"} <= (
        too_large
    )
    assert elapsed < 60, f"bounded reads must not read the files through ({elapsed:.1f}s)"


def _huge_record(fake_root: FakeRoot, name: str, rows: int) -> int:
    """Install ``name`` 1.0 whose RECORD lists ``rows`` files that do not exist; return its size."""
    fake_root.add_dist(SITE, name, "1.0")
    digest = "sha256=" + base64.urlsafe_b64encode(b"\0" * 32).rstrip(b"=").decode()
    text = "".join(f"h/{n:x},{digest},1\n" for n in range(rows))
    fake_root.host(f"{SITE}/{name}-1.0.dist-info/RECORD").write_text(text)
    return len(text)


def _timed_scan(
    fake_root: FakeRoot, out: Path, label: str, *extra: str
) -> Tuple[Dict[str, Any], float]:
    started = time.monotonic()
    code, bundle = scan(fake_root.path, out, *extra)
    elapsed = time.monotonic() - started
    print(f"{label}: scan took {elapsed:.1f}s")  # noqa: T201 - the measurement, shown with -s
    assert code in (0, 1)
    return load(bundle, "inventory.json"), elapsed


@pytest.mark.slow
def test_record_of_a_million_rows_finishes(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    size = _huge_record(fake_root, "huge", 1_000_000)
    # Untargeted, its RECORD is read only when every RECORD is verified.
    inventory, elapsed = _timed_scan(
        fake_root, tmp_path / "out", f"RECORD 1M rows {size >> 20} MiB", "--verify-record"
    )
    (dist,) = [d for d in inventory["distributions"] if d["name"] == "huge"]
    assert max(len(dist["record"]), dist.get("record_rows", 0)) == 1_000_000
    assert elapsed < 120


@pytest.mark.slow
def test_targeted_record_of_100000_missing_files_finishes(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    """A pack-targeted distribution's RECORD is verified row by row: every row costs a stat."""
    fake_root.add_venv(VENV)
    _huge_record(fake_root, "litellm", 100_000)
    inventory, elapsed = _timed_scan(fake_root, tmp_path / "out", "targeted RECORD 100k rows")
    (dist,) = [d for d in inventory["distributions"] if d["name"] == "litellm"]
    assert max(len(dist["record"]), dist.get("record_rows", 0)) == 100_000
    assert elapsed < 180


def test_directory_of_100000_entries(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    crowded = fake_root.host(SITE)
    for n in range(100_000):
        (crowded / f"f{n:05d}.txt").touch()
    fake_root.add_pth(SITE, "zz-last.pth", "/opt/extra\n")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    coverage = load(bundle, "coverage.json")
    assert coverage["files_seen"] >= 100_000
    paths = [p["file"]["path"] for p in load(bundle, "inventory.json")["pth_files"]]
    assert f"{SITE}/zz-last.pth" in paths


def _nest(base: Path, depth: int, leaf: str) -> None:
    """Create ``base/d/d/.../d/<leaf>`` ``depth`` levels deep with dir_fd (no PATH_MAX limit)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            new = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
        for part in leaf.split("/"):
            os.mkdir(part, dir_fd=fd)
            new = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)


def _iter_chain(base: Path) -> Iterator[int]:
    """Yield directory fds from ``base`` down its single-child chain."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    while True:
        yield fd
        names = os.listdir(fd)  # noqa: PTH208 - listing by fd; pathlib has none
        if len(names) != 1:
            return
        try:
            fd = os.open(names[0], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except NotADirectoryError:
            return


def _unnest(base: Path) -> None:
    """Remove a deep chain bottom-up with dir_fd (shutil.rmtree recurses and would fail)."""
    fds: List[int] = list(_iter_chain(base))
    for fd in reversed(fds):  # deepest first; each fd's children are empty dirs by then
        for name in os.listdir(fd):  # noqa: PTH208 - by fd
            os.rmdir(name, dir_fd=fd)
        os.close(fd)


def test_nesting_deeper_than_the_recursion_limit(fake_root: FakeRoot, tmp_path: Path) -> None:
    shallow = max(sys.getrecursionlimit() + 100, 1100)  # deeper than recursion, within PATH_MAX
    deep = 3000  # deeper than PATH_MAX: only an *at() walk enters it
    fake_root.add_dir("/srv/a")
    fake_root.add_dir("/srv/b")
    _nest(fake_root.host("/srv/a"), shallow, "lib/python3.11/site-packages")
    _nest(fake_root.host("/srv/b"), deep, "lib/python3.11/site-packages")
    try:
        code, bundle = scan(fake_root.path, tmp_path / "out")
    finally:
        _unnest(fake_root.host("/srv/a"))
        _unnest(fake_root.host("/srv/b"))
    assert code == 0
    prefixes = {e["prefix"] for e in load(bundle, "environments.json")}
    assert "/srv/a" + "/d" * shallow in prefixes
    # The door reaches every directory through descriptors (openat from its parent), so a tree
    # deeper than PATH_MAX is walked and read whole instead of ending in a gap.
    assert "/srv/b" + "/d" * deep in prefixes
    assert not [
        g for g in load(bundle, "coverage.json")["gaps"] if g["path"] and "/srv/b/" in g["path"]
    ]
