"""The agent zipapp (``python3 -I -S agent.pyz``) reads a Windows image's registry hives and a
macOS image's plists with what it carries (regipy and its pure-Python dependencies), from
Python 3.9 on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot
from osimages import macos_image, windows_image
from sitesweep.fleet.agent_build import build_agent

PYTHONS = (Path("/usr/bin/python3"), Path("/root/.pyenv/versions/3.9.18/bin/python3.9"))


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent(tmp_path_factory.mktemp("agent") / "agent.pyz").path


def _pythons() -> List[Path]:
    found = [p for p in PYTHONS if p.exists()]
    if not found:
        pytest.skip("no python3 to run the agent with")
    return found


def _collect(python: Path, agent: Path, root: Path, out: Path) -> Dict[str, Any]:
    run = subprocess.run(
        [str(python), "-I", "-S", str(agent), "collect", "--output", str(out), "--root", str(root)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    bundle = next(p for p in out.iterdir() if p.is_dir())
    inventory: Dict[str, Any] = json.loads((bundle / "inventory.json").read_text())
    return inventory


@pytest.mark.parametrize("python", _pythons(), ids=str)
def test_agent_reads_windows_hives_and_macos_plists(
    agent: Path, python: Path, tmp_path: Path
) -> None:
    win = windows_image(FakeRoot(tmp_path / "win"))
    inventory = _collect(python, agent, win.path, tmp_path / "out-win")
    assert inventory["os"]["family"] == "windows"
    assert inventory["identity"]["hostname"] == "DESKTOP-7QK2M1A"
    assert "/Users/alice" in {u["home"] for u in inventory["users"] if u["source"] == "ProfileList"}
    mac = macos_image(FakeRoot(tmp_path / "mac"))
    inventory = _collect(python, agent, mac.path, tmp_path / "out-mac")
    assert inventory["os"]["family"] == "macos"
    assert inventory["identity"]["hostname"] == "alices-mbp"
    assert "/Users/alice" in {u["home"] for u in inventory["users"] if u["source"] == "dslocal"}
