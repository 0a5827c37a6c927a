"""Staged files in temporary directories: sentinels, second stages and exfiltration archives are
high with no pack; ordinary temporary files stay low. Archives are listed, never unpacked."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from builders import FakeRoot
from sitesweep.model import Severity
from waves import ELF, base_host, canary_code, findings, worst

RULE = "heuristic/staged-in-temp"


def _tar_gz(members: List[Tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def state_note(root: FakeRoot) -> None:
    root.add_file("/tmp/.pg_state", "http://127.0.0.1:9/raw/next\n")


def hidden_second_stage(root: FakeRoot) -> None:
    root.add_file("/tmp/.cache-upd", canary_code(root) + "import os\n", mode=0o755)


def hidden_binary_dir(root: FakeRoot) -> None:
    root.add_file("/var/tmp/.ICE-x11/kworker", ELF, mode=0o755)


def exfil_archive(root: FakeRoot) -> None:
    data = _tar_gz([("home/alice/.ssh/id_rsa", b"not a key"), ("env.txt", b"X=1")])
    root.add_file("/tmp/tpcp.tar.gz", data)


def encrypted_pair(root: FakeRoot) -> None:
    root.add_file("/tmp/tmpk2/payload.enc", b"Salted__" + b"\x00" * 64)
    root.add_file("/tmp/session.key.enc", b"\x01" * 512)


def macos_private_tmp(root: FakeRoot) -> None:
    root.add_file("/private/tmp/.sync_state", "https://127.0.0.1:9/s\n")


def windows_user_temp(root: FakeRoot) -> None:
    root.add_file("/home/alice/AppData/Local/Temp/.svc.exe", b"MZ" + b"\x00" * 62)


def marker_and_second_stage(root: FakeRoot) -> None:
    root.add_file("/tmp/.sys-update.done", "")
    root.add_file("/tmp/pglog", canary_code(root) + "import os\n")


def install_script_twin(root: FakeRoot) -> None:
    root.add_file("/tmp/install-tool.sh", "#!/bin/sh\necho installing\n", mode=0o755)


def wheel_build_twin(root: FakeRoot) -> None:
    root.add_file("/tmp/build.tar.gz", _tar_gz([("pkg-1.0/setup.py", b"print(1)")]))


def x_lock_twin(root: FakeRoot) -> None:
    root.add_file("/tmp/.X0-lock", "      1234\n")


Case = Tuple[str, Callable[[FakeRoot], None]]
MECHANICS: List[Case] = [
    ("url-state-note", state_note),
    ("hidden-second-stage", hidden_second_stage),
    ("hidden-dir-binary", hidden_binary_dir),
    ("credential-archive", exfil_archive),
    ("encrypted-pair", encrypted_pair),
    ("macos-private-tmp", macos_private_tmp),
    ("windows-user-temp", windows_user_temp),
    ("marker-and-second-stage", marker_and_second_stage),
]
TWINS: List[Case] = [
    ("install-script", install_script_twin),
    ("sdist-build", wheel_build_twin),
    ("x-lock", x_lock_twin),
]


@pytest.mark.parametrize("case", MECHANICS, ids=[c[0] for c in MECHANICS])
def test_staged_shape_is_high(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    case[1](fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert worst(found, RULE) is Severity.HIGH, found
    assert not fake_root.marker.exists()


@pytest.mark.parametrize("case", TWINS, ids=[c[0] for c in TWINS])
def test_ordinary_temp_files_stay_low(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    case[1](fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert worst(found, RULE).rank <= Severity.LOW.rank, found
