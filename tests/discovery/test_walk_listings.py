"""The walk lists each package directory once: the release-shape reader and the unlisted-file
search of a targeted release use what it kept.

A pure release carrying native code, JavaScript, a JS runtime and a ``node_modules`` at several
depths, more entries than the shape reader looks at (so where its bound stops matters), files and
a link no RECORD lists, a site dir nested inside a package, a pruned directory and a linked site
dir (both of which the walk does not list, so the readers list them themselves): the shapes and
the RECORD verification are those the readers give listing every directory themselves, and no
directory below a site dir is listed twice.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.door.directory import DirectoryDoor
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.metadata.importtime import SHAPE_DEPTH, SHAPE_ENTRIES, collect_import_time
from sitesweep.metadata.integrity import verify_records

pytestmark = pytest.mark.nonroot

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
NESTED = f"{SITE}/vendored/_vendor/site-packages"
LINKED = "/opt/tool/lib/python3.11/site-packages"
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 32


def _tree(root: FakeRoot) -> FakeRoot:
    root.add_venv(VENV)
    files: Dict[str, bytes] = {"webui/__init__.py": b"x = 1\n"}
    per_dir = SHAPE_ENTRIES // 8  # the bound stops part way through the package
    for d in range(10):
        for i in range(per_dir):
            files[f"webui/part{d}/m{i}.py"] = b""
        files[f"webui/part{d}/static/app{d}.js"] = b"fetch('https://example.invalid/');\n" * 3
        files[f"webui/part{d}/static/lib{d}.so"] = b""
        files[f"webui/part{d}/__pycache__/cached{d}.so"] = b""  # never looked at
    deep = "/".join(f"d{i}" for i in range(SHAPE_DEPTH + 2))
    files.update(
        {
            "webui/helper": ELF,  # native by its magic, no suffix
            "webui/launcher.exe": b"MZ\x90\x00",
            "webui/node": ELF,
            "webui/ui/bundle.mjs": b"const a = require('child_process');\n" * 4,
            "webui/ui/libz.so.1": b"",
            "webui/ui/node_modules/left-pad/index.js": b"module.exports = 1;\n",
            f"webui/{deep}/too-deep.so": b"",  # below the shape depth
            "webui/skipped/inside.so": b"",  # pruned by name: the reader lists it itself
        }
    )
    root.add_dist(SITE, "webui", "1.0", files=files)
    root.add_file(f"{SITE}/webui/part3/static/unlisted.py", "import os\n")  # in no RECORD
    root.add_file(f"{SITE}/webui/{deep}/unlisted-deep.txt", "x\n")
    root.add_symlink(f"{SITE}/webui/ui/unlisted-link", "/etc/hostname")
    vendored = {"vendored/__init__.py": b"", "vendored/a.js": b""}
    root.add_dist(SITE, "vendored", "2.0", files=vendored)
    root.add_dist(NESTED, "inner", "0.1", files={"inner/__init__.py": b"", "inner/x.dylib": b""})
    root.add_dist("/opt/store", "linkedpkg", "3.0", files={"linkedpkg/y.pyd": b""})
    root.add_file("/opt/tool/pyvenv.cfg", "home = /usr/bin\n")
    root.add_symlink(LINKED, "/opt/store")
    return root


class CountingDoor:
    """The directory door, counting every listing by path (a wrapper: every call delegates)."""

    fork_safe = False
    """Its counts live in this process: no work on it may run in a forked worker."""

    def __init__(self, path: Path) -> None:
        self.inner = DirectoryDoor(os.path.realpath(path))
        self.listed: Counter[str] = Counter()

    def scandir(self, host: str, follow: bool = True, inode: int = 0) -> List[Any]:
        self.listed[host.rstrip("/") or "/"] += 1
        return self.inner.scandir(host, follow, inode)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


SPEC = CollectSpec(
    live_processes=False,
    prune=DEFAULT_PRUNE | {"skipped"},
    verify_targets=frozenset({"webui", "linkedpkg"}),  # as a pack's targets: RECORD verified
)


def test_shapes_from_the_walk_are_those_of_listing_every_directory(fake_root: FakeRoot) -> None:
    root = HostRoot(_tree(fake_root).path)
    inv = collect_inventory(root, SPEC)
    sites = sorted({s for env in inv.environments for s in env.site_dirs})
    assert {SITE, NESTED, LINKED} <= set(sites)
    listed_here = collect_import_time(HostRoot(fake_root.path), sites, inv.distributions, [])
    assert inv.package_shapes == tuple(listed_here.shapes)
    prefixes = {site: env.prefix for env in inv.environments for site in env.site_dirs}
    verified_here = verify_records(
        HostRoot(fake_root.path),
        inv.distributions,
        prefixes,
        SPEC.verify_targets,
        False,
        1 << 20,
        [],
    )
    assert inv.record_checks == verified_here
    unlisted = {f.path.rsplit("/", 1)[-1] for r in inv.record_checks for f in r.unlisted}
    assert unlisted == {"unlisted.py", "unlisted-deep.txt", "unlisted-link"}

    shapes = {s.package.rsplit("/", 1)[-1]: s for s in inv.package_shapes}
    webui = shapes["webui"]
    native = [p.rsplit("/", 1)[-1] for p in webui.native]
    assert {"helper", "libz.so.1", "inside.so"} <= set(native)
    assert "too-deep.so" not in native
    assert not any(n.startswith("cached") for n in native)
    assert 0 < sum(n.startswith("lib") and n.endswith(".so") for n in native) < 10, (
        "the entry bound stops part way through the package's directories"
    )
    assert [p.rsplit("/", 1)[-1] for p in webui.runtimes] == ["node"]
    assert any(j.traits == ("node_modules directory",) for j in webui.js_files)
    assert {"vendored", "inner", "linkedpkg"} <= set(shapes)


def test_no_directory_below_a_site_dir_is_listed_twice(fake_root: FakeRoot) -> None:
    _tree(fake_root)
    door = CountingDoor(fake_root.path)
    inv = collect_inventory(HostRoot(fake_root.path, door=door), SPEC)
    assert {s.package.rsplit("/", 1)[-1] for s in inv.package_shapes} >= {"webui", "inner"}
    sites = {s for env in inv.environments for s in env.site_dirs}
    twice = {
        path: n
        for path, n in door.listed.items()
        if n > 1 and path not in sites and any(path.startswith(s + "/") for s in sites)
    }
    # the walk did not list these two (pruned; behind a linked site dir): each reader lists them
    assert twice == {f"{SITE}/webui/skipped": 2, f"{LINKED}/linkedpkg": 2}
