"""HostRoot remembers resolved directories: the answers stay those of a full resolution."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from builders import FakeRoot
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason

QUERIES = (
    "/srv/app/lib/mod.py",
    "/srv/app/lib/missing.py",
    "/srv/link-abs/mod.py",
    "/srv/link-rel/mod.py",
    "/srv/link-abs/../app/lib/mod.py",
    "/srv/app/lib/../lib/mod.py",
    "/srv/app/lib/file-link",
    "/srv/app/lib/escape",
    "/srv/up/etc/passwd",
    "/srv/nowhere/a/b",
    "/srv/app/lib/mod.py/under-a-file",
    "/srv/app/lib/.",
    "/srv/app/lib/..",
    "/srv//app///lib/mod.py",
    "/",
    "/srv",
)


def test_cached_resolution_equals_full_resolution(linked: FakeRoot) -> None:
    root = HostRoot(linked.path)
    # Twice: the second round answers from the remembered directories.
    for _ in range(2):
        for query in QUERIES:
            assert str(root.resolve(query)) == root._resolve_full(query), query


def test_links_stay_confined_to_the_root(linked: FakeRoot) -> None:
    root = HostRoot(linked.path)
    root.resolve("/srv/app/lib/mod.py")  # fills the cache with /srv/app/lib
    assert root.resolve("/srv/app/lib/escape") == linked.path / "etc" / "passwd"
    assert root.resolve("/srv/link-abs/mod.py") == linked.path / "srv/app/lib/mod.py"
    assert root.read_text("/srv/link-rel/mod.py", 100) == "x = 1\n"


def test_a_loop_is_still_an_error_through_a_cached_parent(linked: FakeRoot) -> None:
    root = HostRoot(linked.path)
    root.resolve("/srv/app/lib/mod.py")
    with pytest.raises(HostReadError) as caught:
        root.resolve("/srv/loop-a/x")
    assert caught.value.reason is GapReason.SYMLINK_LOOP


def test_the_cache_is_bounded(linked: FakeRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sitesweep.hostfs.DIR_CACHE_SIZE", 4)
    root = HostRoot(linked.path)
    seen: List[Path] = []
    for i in range(10):
        linked.add_file(f"/srv/d{i}/f", "")
        seen.append(root.resolve(f"/srv/d{i}/f"))
        assert len(root._dirs) <= 4
    assert seen == [linked.path / f"srv/d{i}/f" for i in range(10)]


def test_a_deep_path_resolves_without_deep_recursion(linked: FakeRoot) -> None:
    deep = "/srv/link-rel/" + "/".join(f"d{i}" for i in range(200)) + "/f.py"
    linked.add_file(deep.replace("/srv/link-rel/", "/srv/app/lib/"), "y = 2\n")
    root = HostRoot(linked.path)
    assert root.read_text(deep, 100) == "y = 2\n"
    assert str(root.resolve(deep)) == root._resolve_full(deep)
