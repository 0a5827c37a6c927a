"""Fuzz: whole scans over random hostile trees built from the shapes of issue 18.

Each example plants a random selection of hostile shapes (nested lockfiles, non-UTF-8 and
newline names, times no ``datetime`` holds, huge sparse files, garbage and nested metadata,
padded ``.pth`` files, repeated RECORD rows) into a fresh fake host, scans it, and checks the
invariants: no exception escapes, a bundle is written, the exit code is 0 or 1 (by findings),
never anything else, and no planted code ran. The example count stays small for CI.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, only_bundle
from sitesweep.cli import main

pytestmark = pytest.mark.nonroot

APP = "/home/alice/app"
NAMES = [b"caf\xe9-1.0.dist-info", b"evil\xff\n.pth", b"x\x1b[31m.pth", b"ok-1.0.dist-info"]


def _nested(root: FakeRoot, depth: int) -> None:
    root.add_file(f"{APP}/uv.lock", "a = " + "[" * depth + "\n")
    root.add_file(f"{APP}/Pipfile.lock", "[" * depth)


def _odd_names(root: FakeRoot, depth: int) -> None:
    site = os.fsencode(root.host(SITE))
    for name in NAMES[: 1 + depth % len(NAMES)]:
        target = site + b"/" + name
        if name.endswith(b".pth"):
            with open(target, "wb") as fh:
                fh.write(b"import os\n")
        else:
            Path(os.fsdecode(target)).mkdir()


def _bad_times(root: FakeRoot, depth: int) -> None:
    pth = root.add_pth(SITE, "times", "import sys\n")
    for when in (-70_000_000_000, 300_000_000_000, -(depth + 1)):
        try:
            os.utime(pth, (when, when))
        except (OSError, OverflowError, ValueError):
            continue


def _sparse(root: FakeRoot, depth: int) -> None:
    path = root.add_file(f"{SITE}/huge.pth", b"")
    with path.open("r+b") as fh:
        fh.truncate((depth + 2) << 20)
        fh.seek(0, 2)
        fh.write(b"\nimport os\n")


def _garbage(root: FakeRoot, depth: int) -> None:
    meta = root.add_dist(SITE, "garbage", "1.0", direct_url="{" * depth)
    (meta / "METADATA").write_bytes(bytes(range(256)) * (depth % 7 + 1))
    (meta / "RECORD").write_text("garbage/__init__.py,sha256=AAAA,1\n" * (depth * 10 + 1))


def _padded(root: FakeRoot, depth: int) -> None:
    root.add_pth(SITE, "padded", malicious_pth_content(root.marker, pad_to=(1 << 20) + depth))


SHAPES: Dict[str, Callable[[FakeRoot, int], None]] = {
    "nested": _nested,
    "names": _odd_names,
    "times": _bad_times,
    "sparse": _sparse,
    "garbage": _garbage,
    "padded": _padded,
}


@settings(max_examples=8)
@given(
    shapes=st.lists(st.sampled_from(sorted(SHAPES)), min_size=1, max_size=4, unique=True),
    depth=st.integers(min_value=1, max_value=3000),
)
def test_random_hostile_trees_scan_to_a_bundle(shapes: List[str], depth: int) -> None:
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # tmpfs keeps 64-bit times
    with tempfile.TemporaryDirectory(dir=base) as name:
        root = FakeRoot(Path(name) / "host")
        root.add_passwd([("alice", 1000, "/home/alice")])
        root.add_venv(VENV)
        for shape in shapes:
            SHAPES[shape](root, depth)
        out = Path(name) / "out"
        code = main(["scan", "--root", str(root.path), "--output", str(out)])
        assert code in (0, 1), f"{shapes} depth {depth}: exit {code}"
        bundle = only_bundle(out)
        assert (bundle / "manifest.json").is_file()
        assert (bundle / "inventory.json").is_file()
        assert (out / f"{bundle.name}.tar.gz").is_file()
        assert not root.marker.exists()
