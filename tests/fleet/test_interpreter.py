"""The agent's interpreter on a target: version pre-check, search, ``python_too_old``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root
from sitesweep.fleet import remote

REAL = Path("/usr/bin/python3")


def _fake_python(path: Path, version: str, log: Path) -> Path:
    """An "interpreter" that logs its arguments and prints ``version`` as the probe would."""
    path.write_text(f'#!/bin/sh\necho "$@" >> {log}\nprintf %s {version}\n')
    path.chmod(0o755)
    return path


def _prepare(bin_dir: Path, python: str, base: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", remote.prepare_command(python, str(base))],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.skipif(not REAL.exists(), reason="no system python3")
def test_default_search_skips_an_old_python3_for_a_newer_one(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "probe.log"
    # RHEL 8's shape: python3 is 3.6, a newer python3.X sits beside it.
    _fake_python(bin_dir / "python3", "3.6", log)
    (bin_dir / "python3.13").symlink_to(REAL)
    done = _prepare(bin_dir, "python3", tmp_path)
    assert done.returncode == 0, done.stderr
    chosen, old = remote.parse_prepare(done.stdout)
    assert chosen is not None
    assert chosen[0] == str(bin_dir / "python3.13")
    assert old == ("python3 is 3.6",)
    temp = remote.valid_temp_dir(done.stdout, str(tmp_path))
    assert temp is not None
    assert Path(temp).is_dir()
    assert "-S -E -s -c" in log.read_text(), "the version probe must not run site"


@pytest.mark.parametrize("version", ["3.6", "3.8", "2.7"])
def test_a_named_old_interpreter_is_too_old(tmp_path: Path, version: str) -> None:
    old = _fake_python(tmp_path / "python", version, tmp_path / "log")
    done = _prepare(tmp_path, str(old), tmp_path)
    assert done.returncode == remote.TOO_OLD, done
    assert remote.parse_prepare(done.stdout) == (None, (f"{old} is {version}",))
    assert not list(tmp_path.glob("sitesweep.*")), "no temp dir without a usable interpreter"


@pytest.mark.ssh
@pytest.mark.parametrize("version", ["3.6", "3.8"])
def test_sweep_reports_python_too_old(
    ssh_lab: Lab,
    target_python: TargetPython,
    tmp_path: Path,
    run_cli: RunCli,
    version: str,
) -> None:
    clean = clean_root(tmp_path / "clean")
    old = _fake_python(tmp_path / f"python{version}", version, tmp_path / "log")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"clean sitesweep_root={clean.path} sitesweep_python={old}\n"
        f"infected sitesweep_root={clean.path} sitesweep_python={target_python.python}\n"
    )
    out = tmp_path / "sweep"
    run = run_cli(
        "sweep",
        "-i",
        str(inventory),
        "--ssh-config",
        str(ssh_lab.config),
        "--output",
        str(out),
        "--remote-tmp",
        str(tmp_path),
        "--timeout",
        "60",
    )
    assert run.code == 3, run.err
    fleet = {h["name"]: h for h in json.loads((out / "fleet.json").read_text())["hosts"]}
    assert fleet["clean"]["status"] == "python_too_old"
    assert f"is {version}" in fleet["clean"]["detail"]
    assert fleet["clean"]["verdict"] == "unchecked"
    assert fleet["infected"]["status"] == "ok"
    assert not list(tmp_path.glob("sitesweep.*"))
    assert not target_python.marker.exists()
