"""Tiny files that used to end the whole scan (exit 1, no bundle) are gaps now.

Each case is a real shape a hostile user can leave in a home or a site dir: a 504-byte ``uv.lock``
of nested ``[`` (RecursionError in tomllib), a 1 KB ``Pipfile.lock`` or ``direct_url.json`` of
nesting (RecursionError in json), an empty ``caf\\xe9-1.0.dist-info`` (UnicodeEncodeError in the
SBOM), a ``.pth`` whose mtime is before year 1 or after 9999 (ValueError in every time
rendering). Each scan exits by findings (0 here), writes its bundle, and records a gap when the
file could not be parsed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV, gap_paths, load, scan
from sitesweep.parsing import MAX_DEPTH, TooDeepError, check_depth

pytestmark = pytest.mark.nonroot

APP = "/home/alice/app"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("uv.lock", "a = " + "[" * 500 + "\n"),  # 504 bytes
        ("poetry.lock", "[[package]]\nname = 'x'\nversion = " + "[" * 500),
        ("pdm.lock", "x = " + "{a = " * 300),
        ("pylock.toml", "packages = " + "[" * 1000),
        ("Pipfile.lock", "[" * 1024),
        ("Pipfile.lock", '{"default": ' + '{"a": ' * 1000),
    ],
)
def test_nested_lockfile_is_a_gap(
    fake_root: FakeRoot, tmp_path: Path, name: str, content: str
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_file(f"{APP}/{name}", content)
    fake_root.add_file(f"{APP}/requirements.txt", "requests==2.31.0\n")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    assert f"{APP}/{name}" in gap_paths(bundle, "parse_error")
    pins = {p["name"] for lf in load(bundle, "inventory.json")["lockfiles"] for p in lf["pins"]}
    assert "requests" in pins, "the other lockfile beside it is still read"


def test_nested_direct_url_json_is_a_gap(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "nested", "1.0", direct_url="[" * 1024)
    fake_root.add_dist(SITE, "plain", "2.0")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    assert f"{SITE}/nested-1.0.dist-info/direct_url.json" in gap_paths(bundle, "parse_error")
    names = {d["name"] for d in load(bundle, "inventory.json")["distributions"]}
    assert names == {"nested", "plain"}


def test_empty_non_utf8_dist_info_is_carried_with_an_escape(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    fake_root.add_venv(VENV)
    site = os.fsencode(fake_root.host(SITE))
    Path(os.fsdecode(site + b"/caf\xe9-1.0.dist-info")).mkdir()
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    paths = {d["path"] for d in load(bundle, "inventory.json")["distributions"]}
    assert os.fsencode(f"{SITE}/caf\udce9-1.0.dist-info") in {os.fsencode(p) for p in paths}
    sbom = (bundle / "sbom.cdx.json").read_text(encoding="ascii")
    assert "pkg:pypi/caf%E9@1.0" in sbom


@pytest.fixture
def wide_time_dir() -> Iterator[Path]:
    """A directory on a filesystem that stores 64-bit times (tmpfs), or skip saying why."""
    base = Path("/dev/shm")
    if not base.is_dir() or not os.access(base, os.W_OK):
        pytest.skip("no writable /dev/shm (tmpfs) to hold a time before year 1")
    with tempfile.TemporaryDirectory(dir=base) as name:
        probe = Path(name) / "probe"
        probe.touch()
        os.utime(probe, (-70_000_000_000, -70_000_000_000))
        if probe.stat().st_mtime != -70_000_000_000:
            pytest.skip("this tmpfs clamps times; cannot plant a time before year 1")
        yield Path(name)


@pytest.mark.parametrize("epoch", [-70_000_000_000, 300_000_000_000])
def test_pth_with_a_time_outside_years_1_to_9999(wide_time_dir: Path, epoch: int) -> None:
    root = FakeRoot(wide_time_dir / "host")
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv(VENV)
    pth = root.add_pth(SITE, "odd", "import os\n")
    os.utime(pth, (epoch, epoch))
    code, bundle = scan(root.path, wide_time_dir / "out")
    assert code in (0, 1)
    (entry,) = load(bundle, "inventory.json")["pth_files"]
    assert entry["file"]["mtime"] == epoch
    timeline = (bundle / "timeline.jsonl").read_text(encoding="utf-8")
    assert f"epoch {epoch} (outside years 1-9999)" in timeline
    assert (bundle / "report.html").is_file()
    assert (bundle / "report.txt").is_file()


def test_an_unexpected_internal_error_exits_2_never_1(
    fake_root: FakeRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: a fault injected into pack loading) is exit 2, "could not run"."""
    import sitesweep.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(sitesweep.pipeline, "load_packs", broken)
    from sitesweep.cli import main

    assert main(["scan", "--root", str(fake_root.path), "--output", str(tmp_path)]) == 2


def test_check_depth_counts_brackets_outside_strings_only() -> None:
    check_depth('x = "' + "[" * 500 + '"\n# ' + "{" * 500 + "\n")
    check_depth(json.dumps({"a": [[[{"b": "[[[["}]]]}))
    check_depth("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(TooDeepError):
        check_depth("[" * (MAX_DEPTH + 1))
