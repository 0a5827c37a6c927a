"""An unprivileged scan completes and its coverage lists exactly what it could not read.

As root the scan runs under ``setpriv`` without the capabilities that bypass file permissions
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), which is how an ordinary account sees the tree; as any
other user it runs as that user.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from builders import FakeRoot
from clirun import unprivileged
from scanrun import SITE, VENV, only_bundle

pytestmark = pytest.mark.nonroot

LOCKED_DIRS = ("/srv/locked", "/opt/vault/inner")
LOCKED_FILE = f"{SITE}/secret.pth"


def test_unprivileged_scan_lists_exactly_what_it_could_not_read(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "requests", "2.31.0")
    fake_root.add_pth(SITE, "secret", "import os\n").chmod(0)
    for directory in LOCKED_DIRS:
        fake_root.add_venv(f"{directory}/hidden-venv")
        fake_root.host(directory).chmod(0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-I", "-m", "sitesweep", "scan", "--root", str(fake_root.path)]
    try:
        proc = subprocess.run(
            unprivileged([*cmd, "--output", str(out)]),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        for directory in LOCKED_DIRS:
            fake_root.host(directory).chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    coverage = json.loads((only_bundle(out) / "coverage.json").read_text())
    denied = [g for g in coverage["gaps"] if g["reason"] == "permission_denied"]
    # Each path may be reported by more than one collector (the walk, the credential files
    # search), but the set of paths the coverage names is exactly the three planted ones.
    assert {g["path"] for g in denied} == {*LOCKED_DIRS, LOCKED_FILE}
    assert {g["area"] for g in denied if g["path"] == LOCKED_FILE} == {"inventory"}
    assert all("discovery" in {g["area"] for g in denied if g["path"] == d} for d in LOCKED_DIRS)
    assert "permission_denied" in proc.stdout
    assert proc.stdout.startswith("verdict\tincomplete\t")  # never called clean
