"""Fuzz: whole scans over random hostile trees built from the shapes of issue 18.

Each example plants a random selection of hostile shapes (nested lockfiles, non-UTF-8 and
newline names, times no ``datetime`` holds, huge sparse files, garbage and nested metadata,
padded ``.pth`` files, repeated RECORD rows) into a fresh fake host, scans it, and checks the
invariants: no exception escapes, a bundle is written, the exit code is 0 or 1 (by findings),
never anything else, no planted code ran, nothing outside the root was read (a token in every
file of a directory beside the root, reached by absolute, climbing and linked-parent links, never
appears in the bundle), and the rendered outputs hold no raw control character. Shapes added with
issue 18's last items: links out of the root, persistence files with escape and non-UTF-8 names
and junk plists, histories with long lines and metafied bytes, conda-meta and pyvenv.cfg garbage.
The example count stays small for CI.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, bundle_mentions, only_bundle
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


OUTSIDE_MARK = "OUTSIDE-MARK-5be1d0"
"""Written into every file of a directory beside the root; never to be read into a bundle."""


def _links_out(root: FakeRoot, depth: int) -> None:
    outside = root.path.parent / "outside"
    outside.mkdir(exist_ok=True)
    for name in ("secret.pth", "METADATA", "passwd", ".bash_history"):
        (outside / name).write_text(f"import os  # {OUTSIDE_MARK}\n")
    climb = "../" * (depth % 40 + 2)
    site = root.host(SITE)
    (site / "out.pth").symlink_to(outside / "secret.pth")
    (site / "climb.pth").symlink_to(f"{climb}outside/secret.pth")
    (site / "linked-1.0.dist-info").symlink_to(outside)
    root.add_dir("/home/alice")
    history = root.host("/home/alice/.bash_history")
    history.unlink(missing_ok=True)  # the history shape may have written one
    history.symlink_to(outside / ".bash_history")


def _persistence(root: FakeRoot, depth: int) -> None:
    units = os.fsencode(root.host("/home/alice/.config/systemd/user"))
    Path(os.fsdecode(units)).mkdir(parents=True, exist_ok=True)
    for name in (b"x\x1b]0;t\x07\xff.service", b"nl\n.service"):
        with open(units + b"/" + name, "wb") as fh:
            fh.write(b"[Service]\nExecStart=/usr/bin/python3 -c 'import os' --token Tk9\n")
    root.add_file("/etc/cron.d/" + "x" * (depth % 200 + 1), b"* * * * * root " + b"\xff" * depth)
    plist = "/Library/LaunchAgents/com.x.plist"
    root.add_file(plist, b"bplist00" + bytes(range(256)) * (depth % 5 + 1))


def _history(root: FakeRoot, depth: int) -> None:
    line = b"pip install litellm==1.82.8 " + b"A" * (depth * 50) + b"\n"
    root.add_file("/home/alice/.zsh_history", b": 1774349000:0;" + line + b"\x83" * depth)
    if not root.host("/home/alice/.bash_history").is_symlink():  # links_out's, when it came first
        root.add_file("/home/alice/.bash_history", b"#99999999999999\n" + line * (depth % 50 + 1))


def _conda(root: FakeRoot, depth: int) -> None:
    prefix = "/home/alice/miniconda3/envs/x"
    root.add_conda(prefix, python="3.11")
    root.add_file(f"{prefix}/conda-meta/python-3.11.0-0.json", "[" * depth)
    root.add_file(f"{prefix}/pyvenv.cfg", b"version = \xff" + b"[" * depth)


SHAPES: Dict[str, Callable[[FakeRoot, int], None]] = {
    "nested": _nested,
    "names": _odd_names,
    "times": _bad_times,
    "sparse": _sparse,
    "garbage": _garbage,
    "padded": _padded,
    "links_out": _links_out,
    "persistence": _persistence,
    "history": _history,
    "conda": _conda,
}
RENDERED = ("report.txt", "report.html", "inventory.csv", "timeline.csv", "timeline.jsonl")
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@settings(max_examples=10)
@given(
    shapes=st.lists(st.sampled_from(sorted(SHAPES)), min_size=1, max_size=5, unique=True),
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
        assert not bundle_mentions(bundle, OUTSIDE_MARK), f"{shapes}: read outside the root"
        for name in RENDERED:  # one escape for every name: no raw control character
            assert not _RAW_CONTROL.search((bundle / name).read_bytes()), f"{shapes}: {name}"
