"""A zip bomb and a truncated zip in a package cache: listed never extracted, refused as gaps."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from builders import FakeRoot
from scanrun import gap_paths, load, scan

pytestmark = pytest.mark.nonroot

WHEELS = "/home/alice/.cache/pip/wheels/ab/cd"
BOMB = f"{WHEELS}/bomb-1.0-py3-none-any.whl"
CUT = f"{WHEELS}/cut-1.0-py3-none-any.whl"
GOOD = f"{WHEELS}/good-1.0-py3-none-any.whl"


def _wheel(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/__init__.py", "# x\n" * 200)
        archive.writestr(f"{name}-1.0.dist-info/METADATA", f"Name: {name}\nVersion: 1.0\n")
        archive.writestr(f"{name}-1.0.dist-info/RECORD", "")
    return buffer.getvalue()


def _bomb(path: Path) -> None:
    """256 MiB of zeros deflated to about 250 KiB: extracting it would be the attack."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb-1.0.dist-info/METADATA", "Name: bomb\nVersion: 1.0\n")
        with archive.open("bomb/zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(256):
                member.write(chunk)


def test_zip_bomb_and_truncated_zip_are_gaps(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_dir(WHEELS)
    _bomb(fake_root.host(BOMB))
    whole = _wheel("cut")
    fake_root.add_file(CUT, whole[: len(whole) // 2])
    fake_root.add_file(GOOD, _wheel("good"))
    assert fake_root.host(BOMB).stat().st_size < 1 << 20
    started = time.monotonic()
    code, bundle = scan(fake_root.path, tmp_path / "out")
    elapsed = time.monotonic() - started
    assert code in (0, 1)
    assert {BOMB, CUT} <= gap_paths(bundle, "parse_error")
    details = {g["path"]: g["detail"] for g in load(bundle, "coverage.json")["gaps"]}
    assert "zip bomb" in details[BOMB]
    assert "truncated" in details[CUT]
    cached = {a["path"]: a for a in load(bundle, "inventory.json")["cached_artifacts"]}
    assert cached[GOOD]["name"] == "good"
    assert cached[BOMB]["sha256"], "a refused archive is still hashed (by its file name)"
    assert elapsed < 60
