"""FIFOs, sockets and device nodes where ``.pth``, METADATA or RECORD files would be.

Opening a FIFO blocks forever and reading ``/dev/zero`` never ends: the scan must refuse each one
without opening it, record a ``special_file`` gap, and finish.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import Callable, Dict

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV, gap_paths, scan

pytestmark = pytest.mark.nonroot

DIST = f"{SITE}/victim-1.0.dist-info"
TARGETS = (f"{SITE}/special.pth", f"{DIST}/METADATA", f"{DIST}/RECORD")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    """Bind a Unix socket (in a short directory: sun_path holds 108 bytes) and move it in place."""
    short = Path(tempfile.mkdtemp(prefix="ss-", dir="/tmp"))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(str(short / "s"))
        (short / "s").rename(path)
    finally:
        shutil.rmtree(short)


def _zero_device(path: Path) -> None:
    """A character device node like /dev/zero (reading it never ends)."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))


MAKERS: Dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "socket": _socket,
    "char-device": _zero_device,
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_special_files_are_refused_as_gaps(fake_root: FakeRoot, tmp_path: Path, kind: str) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "victim", "1.0")
    for host in TARGETS:
        real = fake_root.host(host)
        if real.exists():
            real.unlink()
        try:
            MAKERS[kind](real)
        except PermissionError as exc:
            pytest.skip(f"cannot create a {kind} here (needs CAP_MKNOD, e.g. not root): {exc}")
    # --verify-record: an untargeted distribution's RECORD is otherwise never opened.
    code, bundle = scan(fake_root.path, tmp_path / "out", "--verify-record")
    assert code == 0
    assert set(TARGETS) <= gap_paths(bundle, "special_file")
    assert not fake_root.marker.exists()
