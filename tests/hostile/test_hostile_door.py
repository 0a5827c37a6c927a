"""No way out of the root through the door: swapped directories, linked parents, linked site dirs.

Each test plants a unique token and a distinctive mtime in real files *outside* the image, exactly
where a link would lead if the kernel followed it on the scanning machine, and asserts that
neither the token nor the mtime ever reaches the bundle.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, bundle_mentions, gaps, load, scan
from sitesweep.errors import HostReadError
from sitesweep.hostfs import FileInfo, HostRoot

pytestmark = pytest.mark.nonroot

OUTSIDE_MTIME = 987654321  # 2001-04-19T04:25:21Z: no fixture file carries it
OUTSIDE_STAMPS = ("987654321", "2001-04-19")


def _outside(tmp_path: Path, token: str, names: Tuple[str, ...]) -> Path:
    """A directory on the analyst's machine, outside the image, holding marked files."""
    outside = tmp_path / "analyst" / "pkg"
    outside.mkdir(parents=True)
    for name in names:
        path = outside / name
        path.write_text(f"SECRET = {token!r}  # outside the image\n")
        path.chmod(0o600)
        os.utime(path, (OUTSIDE_MTIME, OUTSIDE_MTIME))
    return outside


def _leaked(bundle: Path, token: str) -> bool:
    return bundle_mentions(bundle, token) or any(bundle_mentions(bundle, s) for s in OUTSIDE_STAMPS)


def _litellm(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(
        SITE,
        "litellm",
        "1.82.8",
        files={
            "litellm/__init__.py": b'__version__ = "1.82.8"\n',
            "litellm/proxy.py": b"def serve():\n    return None\n",
            "litellm_init.pth": malicious_pth_content(fake_root.marker).encode(),
        },
    )


@pytest.fixture
def swapper(fake_root: FakeRoot, tmp_path: Path) -> Iterator[Tuple[Path, str]]:
    """A thread that keeps swapping ``{SITE}/litellm`` for a symlink to an outside directory."""
    token = f"OUTSIDE-{uuid.uuid4().hex}"
    _litellm(fake_root)
    outside = _outside(tmp_path, token, ("__init__.py", "proxy.py"))
    package = fake_root.host(f"{SITE}/litellm")
    aside = package.with_name("litellm.real")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            package.rename(aside)
            package.symlink_to(outside)
            time.sleep(0.0005)
            package.unlink()
            aside.rename(package)
            time.sleep(0.0001)

    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    try:
        yield outside, token
    finally:
        stop.set()
        thread.join()


def test_a_package_dir_swapped_for_an_outside_link_never_leaks(
    fake_root: FakeRoot, tmp_path: Path, swapper: Tuple[Path, str]
) -> None:
    _, token = swapper
    for run in range(6):
        code, bundle = scan(fake_root.path, tmp_path / f"out{run}", "--verify-record")
        assert code == 1, "litellm 1.82.8 and its .pth are found whatever the swapper does"
        assert not _leaked(bundle, token), f"run {run}: outside content or metadata in the bundle"
    assert not fake_root.marker.exists()


@pytest.mark.parametrize("target", ["absolute", "climbing"])
def test_a_site_entry_linked_outside_shows_nothing_of_the_outside(
    fake_root: FakeRoot, tmp_path: Path, target: str
) -> None:
    token = f"OUTSIDE-{uuid.uuid4().hex}"
    _litellm(fake_root)
    outside = _outside(tmp_path, token, ("__init__.py", "proxy.py"))
    # What the old door did: lstat let the kernel follow the parent link to the analyst's files.
    # An outside symlink's own mtime and owner, and an outside file beside an in-image twin (what
    # the link means on the imaged host), are what it recorded.
    (outside / "proxy.py").unlink()
    (outside / "proxy.py").symlink_to("/etc/hostname")
    os.utime(outside / "proxy.py", (OUTSIDE_MTIME, OUTSIDE_MTIME), follow_symlinks=False)
    fake_root.add_file(f"{outside}/__init__.py", '__version__ = "1.82.8"\n')
    package = fake_root.host(f"{SITE}/litellm")
    shutil.rmtree(package)
    link = str(outside) if target == "absolute" else "../" * 30 + str(outside).lstrip("/")
    package.symlink_to(link)

    code, bundle = scan(fake_root.path, tmp_path / "with", "--verify-record")
    assert code == 1
    assert not _leaked(bundle, token)
    timeline = (bundle / "timeline.csv").read_text() if (bundle / "timeline.csv").exists() else ""
    assert not any(s in timeline for s in OUTSIDE_STAMPS)
    with_outside = gaps(bundle)

    shutil.rmtree(outside)  # the same scan when the outside files do not exist at all
    code, bundle = scan(fake_root.path, tmp_path / "without", "--verify-record")
    assert code == 1
    assert gaps(bundle) == with_outside, "a gap must not tell whether the outside file exists"
    assert not fake_root.marker.exists()


LINKED_SITE = f"{VENV}/lib/python3.11/site-packages"


@pytest.mark.parametrize("link", ["../../store", f"{VENV}/store"])
def test_a_linked_site_packages_is_followed_inside_the_root_and_named(
    fake_root: FakeRoot, tmp_path: Path, link: str
) -> None:
    fake_root.add_venv(VENV)
    store = f"{VENV}/store"
    fake_root.add_dist(store, "litellm", "1.82.8")
    fake_root.add_pth(store, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    site = fake_root.host(LINKED_SITE)
    shutil.rmtree(site)
    site.symlink_to(link)

    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1, "Python follows the link and runs the .pth: so must the scan see it"
    inventory = load(bundle, "inventory.json")
    dists = {(d["name"], d["version"]) for d in inventory["distributions"]}
    assert ("litellm", "1.82.8") in dists
    (env,) = [e for e in load(bundle, "environments.json") if e["prefix"] == VENV]
    assert f"{LINKED_SITE} is a symbolic link to {store}" in env["detail"]
    findings = load(bundle, "findings.json")["findings"]
    assert any(f"{LINKED_SITE}/litellm_init.pth" in f["paths"] for f in findings)
    assert not fake_root.marker.exists()


def test_a_site_packages_linked_out_of_the_root_is_a_gap(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    token = f"OUTSIDE-{uuid.uuid4().hex}"
    outside = _outside(tmp_path, token, ("evil.pth",))
    fake_root.add_venv(VENV)
    site = fake_root.host(LINKED_SITE)
    shutil.rmtree(site)
    site.symlink_to(outside)

    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    assert ("outside_root", LINKED_SITE) in gaps(bundle)
    assert not _leaked(bundle, token)


# -- fuzz: random trees of links never lead the door out of the root ----------------------------

NAMES = ("a", "b", "site-packages", "x.pth")
Node = Tuple[Tuple[str, ...], str, str]  # (path parts, kind, link target or "")


def _targets(outside: str) -> st.SearchStrategy[str]:
    rel = st.lists(st.sampled_from((*NAMES, "..", ".")), min_size=1, max_size=5).map("/".join)
    return st.one_of(
        rel,
        rel.map(lambda r: "/" + r),  # absolute: means the image's own /
        st.integers(1, 12).map(lambda n: "../" * n + outside.lstrip("/")),  # climbing out
        st.just(outside),  # the analyst's directory itself
        st.just(outside + "/secret"),
        st.sampled_from((".", "..", "/", "../..")),
    )


def _trees(outside: str) -> st.SearchStrategy[List[Node]]:
    part_lists = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map(tuple)
    node = st.one_of(
        st.tuples(part_lists, st.just("dir"), st.just("")),
        st.tuples(part_lists, st.just("file"), st.just("")),
        st.tuples(part_lists, st.just("link"), _targets(outside)),
    )
    return st.lists(node, min_size=1, max_size=14)


def _build(base: Path, nodes: List[Node]) -> List[str]:
    made: List[str] = []
    for parts, kind, target in nodes:
        path = base.joinpath(*parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "dir":
                path.mkdir(exist_ok=True)
            elif kind == "file":
                path.write_text("import os  # inside\n")
            else:
                path.symlink_to(target)
        except OSError:  # a parent is a file or a link already: the shape is skipped
            continue
        made.append("/" + "/".join(parts))
    return made


@settings(max_examples=25)
@given(data=st.data())
def test_fuzz_random_link_trees_never_leave_the_root(tmp_path: Path, data: st.DataObject) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    token = f"OUTSIDE-{uuid.uuid4().hex}"
    outside = _outside(work, token, ("secret", "x.pth", "a"))
    root_dir = work / "image"
    base = root_dir / "srv"
    base.mkdir(parents=True)
    made = _build(base, data.draw(_trees(str(outside))))
    outside_ids = {(s.st_dev, s.st_ino) for s in (p.lstat() for p in (outside, *outside.iterdir()))}

    root = HostRoot(root_dir)
    door_fds: Set[str] = set()
    for host in {f"/srv{m}{tail}" for m in made for tail in ("", "/", "/a", "/..", "/secret")}:
        for call in (root.lstat, root.resolve_host, root.listdir, root.readlink):
            with contextlib.suppress(HostReadError):
                got = call(host)
                if isinstance(got, FileInfo):
                    st_ = root.stat_result(host)
                    assert (st_.st_dev, st_.st_ino) not in outside_ids, host
        for opener in (root.open_nofollow, lambda h: root._open(h, True)):
            with contextlib.suppress(HostReadError), opener(host) as fh:
                door_fds |= _fds_outside(outside)
                assert token.encode() not in fh.read(1 << 16), host
        with contextlib.suppress(HostReadError):
            assert token.encode() not in root.read_bytes(host, 1 << 16), host
        door_fds |= _fds_outside(outside)
    assert not door_fds, "the door held a descriptor outside the root"
    root.close()

    code, bundle = scan(root_dir, work / "out")
    assert code in (0, 1)
    assert not _leaked(bundle, token)
    shutil.rmtree(work)


def _fds_outside(outside: Path) -> Set[str]:
    """Where each descriptor this process holds leads, when that is the outside directory."""
    bad: Set[str] = set()
    for fd in os.listdir("/proc/self/fd"):  # noqa: PTH208 - descriptors, not files
        with contextlib.suppress(OSError):
            where = os.readlink(f"/proc/self/fd/{fd}")  # noqa: PTH115
            if where.startswith(str(outside)):
                bad.add(where)
    return bad
