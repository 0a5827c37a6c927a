"""Symlinks a hostile image may hold: loops, and absolute or climbing links aimed at the analyst.

Under ``--root`` an absolute link means what it meant on the imaged host: it resolves inside the
image. Each test plants a unique token in a real file *outside* the image, exactly where the link
would lead if it were followed on the scanning machine, and asserts the token never reaches the
bundle.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV, bundle_mentions, gap_paths, load, scan

pytestmark = pytest.mark.nonroot


def test_symlink_loops_are_gaps_and_the_scan_finishes(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_symlink("/home/alice/loop_a", "/home/alice/loop_b")
    fake_root.add_symlink("/home/alice/loop_b", "/home/alice/loop_a")
    fake_root.add_symlink("/srv/self", "/srv/self")
    fake_root.add_symlink(f"{SITE}/loop.pth", "loop.pth")
    fake_root.add_symlink(f"{SITE}/pkg/up", "..")  # a directory cycle the walk must not follow
    for n in range(50):  # a chain longer than the kernel's 40 hops counts as a loop, as in Linux
        fake_root.add_symlink(f"/srv/chain/{n}", f"/srv/chain/{n + 1}")
    fake_root.add_file("/srv/chain/50", "end\n")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    loops = gap_paths(bundle, "symlink_loop")
    assert {"/home/alice/loop_a", "/home/alice/loop_b", "/srv/self", f"{SITE}/loop.pth"} <= loops
    assert "/srv/chain/0" in loops
    assert f"{SITE}/pkg/up" not in loops
    assert not fake_root.marker.exists()


def test_absolute_and_climbing_links_never_leave_the_image(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    outside_token = f"OUTSIDE-{uuid.uuid4().hex}"
    inside_token = f"INSIDE-{uuid.uuid4().hex}"
    analyst = tmp_path / "analyst"  # real files on the scanning machine, outside the image
    analyst.mkdir()
    for name, text in {
        "secret.pth": f"import os  # {outside_token}\n",
        "shadow": f"root:{outside_token}:19000:0:99999:7:::\n",
        "hostname": f"{outside_token}\n",
        "passwd": f"{outside_token}:x:4242:4242::/home/{outside_token}:/bin/sh\n",
    }.items():
        (analyst / name).write_text(text)
    meta = analyst / "evil-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {outside_token}\nVersion: 9\n")

    fake_root.add_venv(VENV)
    # What the absolute path means on the imaged host: a twin inside the image.
    fake_root.add_file(str(analyst / "secret.pth"), f"import os  # {inside_token}\n")
    fake_root.add_symlink(f"{SITE}/evil.pth", str(analyst / "secret.pth"))
    fake_root.add_symlink(f"{SITE}/climb.pth", "../" * 40 + str(analyst / "secret.pth")[1:])
    fake_root.add_symlink(f"{SITE}/shadow.pth", str(analyst / "shadow"))  # no twin: dangling
    fake_root.add_symlink(f"{SITE}/evil-1.0.dist-info", str(meta))
    for name in ("hostname", "passwd"):
        fake_root.host(f"/etc/{name}").unlink()
        fake_root.add_symlink(f"/etc/{name}", str(analyst / name))
    fake_root.add_symlink("/etc/machine-id", "/etc/machine-id")  # the live file is right there

    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code in (0, 1)
    assert not bundle_mentions(bundle, outside_token), "read a file outside the image"
    assert bundle_mentions(bundle, inside_token), "the absolute link must resolve inside the image"
    inventory = load(bundle, "inventory.json")
    pth = {p["file"]["path"]: p for p in inventory["pth_files"]}
    assert inside_token in pth[f"{SITE}/evil.pth"]["lines"][0]["text"]
    assert inside_token in pth[f"{SITE}/climb.pth"]["lines"][0]["text"]
    assert f"{SITE}/shadow.pth" in gap_paths(bundle, "vanished")
    assert "/etc/machine-id" in gap_paths(bundle, "symlink_loop")
    (dist,) = [d for d in inventory["distributions"] if d["path"].endswith("evil-1.0.dist-info")]
    assert dist["name"] == "evil"
    assert any("metadata file missing" in p for p in dist["problems"])
    assert load(bundle, "manifest.json")["host"]["hostname"] != outside_token
    assert not fake_root.marker.exists()
