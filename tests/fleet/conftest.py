"""Fixtures of the fleet tests: a lab of real loopback sshd hosts and a target interpreter."""

from __future__ import annotations

import os
import subprocess
from typing import Iterator

import pytest

from fleet.fleetlab import TARGET_MARKER_PTH, Lab, TargetPython
from fleet.sshlab import SshLab, free_port, sshd_missing_reason


def _skip_unless_ci() -> None:
    reason = sshd_missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the ssh tests must run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Two sshd "hosts" on loopback; ``wrongkey`` reaches one with an unauthorized key and
    ``closed`` points at a port where nothing listens."""
    _skip_unless_ci()
    lab = SshLab.create(tmp_path_factory.mktemp("sshlab"))
    try:
        first = lab.start_server("first")
        second = lab.start_server("second")
        closed = free_port()
        config = lab.ssh_config(
            {
                "infected": {"Port": str(first)},
                "clean": {"Port": str(second)},
                "wrongkey": {"Port": str(first), "IdentityFile": str(lab.wrong_key)},
                "closed": {"Port": str(closed)},
                "nopython": {"Port": str(second)},
            }
        )
        yield Lab(lab, config, {"first": first, "second": second, "closed": closed})
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def target_python(tmp_path_factory: pytest.TempPathFactory) -> TargetPython:
    """A venv of the system python3 with a ``.pth`` that appends to a marker when site runs.

    The positive control proves the marker works: starting the venv's python normally runs the
    ``.pth`` (the marker appears and is removed again before the tests).
    """
    base = tmp_path_factory.mktemp("targetpy")
    venv = base / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    sites = list(venv.glob("lib/python3*/site-packages"))
    assert len(sites) == 1
    marker = base / "target-python-marker"
    line = f"import sys; open({str(marker)!r}, 'a').write('site ran\\n')\n"
    (sites[0] / TARGET_MARKER_PTH).write_text(line)
    python = venv / "bin" / "python3"
    subprocess.run([str(python), "-c", "pass"], check=True)
    assert "site ran" in marker.read_text(), "positive control: the .pth must run normally"
    marker.unlink()
    return TargetPython(python, marker)
