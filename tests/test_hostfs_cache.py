"""The door remembers resolved directories as descriptors: answers stay those of a resolution
from the root, and the number kept open is bounded."""

from __future__ import annotations

from typing import List

import pytest

from builders import FakeRoot
from sitesweep.door import directory
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason, HostPath

EXPECTED = {
    "/srv/app/lib/mod.py": "/srv/app/lib/mod.py",
    "/srv/app/lib/missing.py": "/srv/app/lib/missing.py",
    "/srv/link-abs/mod.py": "/srv/app/lib/mod.py",
    "/srv/link-rel/mod.py": "/srv/app/lib/mod.py",
    "/srv/link-abs/../app/lib/mod.py": "/srv/app/app/lib/mod.py",
    "/srv/app/lib/../lib/mod.py": "/srv/app/lib/mod.py",
    "/srv/app/lib/file-link": "/srv/app/lib/mod.py",
    "/srv/app/lib/escape": "/etc/passwd",
    "/srv/up/etc/passwd": "/etc/passwd",
    "/srv/nowhere/a/b": "/srv/nowhere/a/b",
    "/srv/app/lib/mod.py/under-a-file": "/srv/app/lib/mod.py/under-a-file",
    "/srv/app/lib/.": "/srv/app/lib",
    "/srv/app/lib/..": "/srv/app",
    "/srv//app///lib/mod.py": "/srv/app/lib/mod.py",
    "/": "/",
    "/srv": "/srv",
}


@pytest.mark.parametrize("openat2", [True, False], ids=["openat2", "per-component"])
def test_resolution_stays_in_the_root_cached_or_not(
    linked: FakeRoot, openat2: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = HostRoot(linked.path)
    if not openat2:
        monkeypatch.setattr(root._door, "uses_openat2", False)
    elif not root._door.uses_openat2:  # type: ignore[attr-defined]
        pytest.skip("this kernel or sandbox has no openat2")
    for _ in range(2):  # the second round goes through remembered directories
        for query, want in EXPECTED.items():
            assert root.resolve_host(query) == want, query
            assert root.resolve(query) == root.real(want)
        assert root.read_text("/srv/link-rel/mod.py", 100) == "x = 1\n"
        assert root.read_text("/srv/up/srv/link-abs/mod.py", 100) == "x = 1\n"
        assert (
            root.read_bytes("/srv/up/etc/passwd", 1 << 20)
            == linked.host("/etc/passwd").read_bytes()
        )


@pytest.mark.parametrize("openat2", [True, False], ids=["openat2", "per-component"])
def test_a_loop_is_an_error_through_a_cached_parent(
    linked: FakeRoot, openat2: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = HostRoot(linked.path)
    if not openat2:
        monkeypatch.setattr(root._door, "uses_openat2", False)
    root.read_text("/srv/app/lib/mod.py", 100)
    for call in (root.resolve_host, lambda p: root.read_text(p, 100), root.lstat):
        with pytest.raises(HostReadError) as caught:
            call("/srv/loop-a/x")
        assert caught.value.reason is GapReason.SYMLINK_LOOP


def test_open_descriptors_are_bounded(linked: FakeRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(directory, "DIR_CACHE_SIZE", 4)
    root = HostRoot(linked.path)
    seen: List[HostPath] = []
    for i in range(10):
        linked.add_file(f"/srv/d{i}/f", f"{i}")
        assert root.read_text(f"/srv/d{i}/f", 10) == f"{i}"
        seen.append(root.resolve_host(f"/srv/d{i}/f"))
        assert len(root._door._cache) <= 4  # type: ignore[attr-defined]
    assert seen == [f"/srv/d{i}/f" for i in range(10)]
    root.close()


def test_a_deep_path_resolves_without_deep_recursion(linked: FakeRoot) -> None:
    deep = "/srv/link-rel/" + "/".join(f"d{i}" for i in range(200)) + "/f.py"
    linked.add_file(deep.replace("/srv/link-rel/", "/srv/app/lib/"), "y = 2\n")
    root = HostRoot(linked.path)
    assert root.read_text(deep, 100) == "y = 2\n"
    assert root.resolve_host(deep) == deep.replace("/srv/link-rel/", "/srv/app/lib/")
