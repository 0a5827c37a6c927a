"""The deployable agent: one zipapp, run with ``python3 -I -S``, leaving only its output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Iterator, List

import pytest

from clirun import RunCli
from fleet.fleetlab import infected_root
from fleet.netchild import NetChild, start_net_child
from sitesweep.fleet.agent_build import build_agent
from sitesweep.fleet.remote import parse_bundle_line
from sitesweep.outcome import coverage_reasons
from sitesweep.pipeline import run_analyze

SYSTEM_PYTHON = Path("/usr/bin/python3")
OTHER_PYTHONS = sorted(Path("/root/.pyenv/versions").glob("3.9*/bin/python3"))


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent(tmp_path_factory.mktemp("agent") / "agent.pyz").path


def test_agent_holds_no_compiled_code_and_no_cli(agent: Path) -> None:
    names = zipfile.ZipFile(agent).namelist()
    assert "__main__.py" in names
    assert "sitesweep/agent.py" in names
    assert any(n.startswith("sitesweep/signatures/litellm-2026-03/") for n in names)
    assert any(n.startswith("packaging/") for n in names)
    assert not [n for n in names if n.endswith((".so", ".pyc", ".pyd"))]
    assert not [n for n in names if n.startswith(("click/", "rich/", "psutil/", "sitesweep/cli/"))]


def _pythons() -> List[Path]:
    found = [p for p in (SYSTEM_PYTHON, *OTHER_PYTHONS) if p.exists()]
    if not found:
        pytest.skip("no system python3")
    return found


@pytest.mark.parametrize("python", _pythons(), ids=str)
def test_agent_collects_with_no_site_and_leaves_only_output(
    agent: Path, python: Path, tmp_path: Path
) -> None:
    root = infected_root(tmp_path / "host")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out"
    run = subprocess.run(
        [
            str(python),
            "-I",
            "-S",
            str(agent),
            "collect",
            "--output",
            str(out),
            "--root",
            str(root.path),
        ],
        env={"TMPDIR": str(scratch), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        cwd=scratch,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    named = parse_bundle_line(run.stdout)
    assert named is not None, run.stdout
    name, sha256, size = named
    archive = out / name
    assert archive.stat().st_size == size
    assert list(scratch.iterdir()) == [], "the agent left files behind"
    assert not root.marker.exists()
    manifest = json.loads((out / name[: -len(".tar.gz")] / "manifest.json").read_text())
    assert manifest["mode"] == "collect"
    # --root: no live processes to read, so only YARA is named as reduced.
    assert {r["area"] for r in manifest["reduced_checks"]} == {"yara"}
    result = run_analyze(archive).result
    rules = {f.rule for f in result.findings}
    assert "litellm-2026-03/affected/litellm" in rules
    assert sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def net_child() -> Iterator[NetChild]:
    yield from start_net_child()


@pytest.mark.live
@pytest.mark.parametrize("python", _pythons(), ids=str)
def test_live_agent_reads_connections_and_addresses_without_psutil(
    agent: Path, python: Path, net_child: NetChild, tmp_path: Path
) -> None:
    """The zipapp, ``-I -S`` (so the stand-in, not psutil), on this running machine: processes
    with their connections and the interface addresses, so nothing of them named reduced."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out"
    walked = {"/etc", "/proc", "/sys", "/dev"}  # the walk kept small: processes are the point
    excludes = [
        a
        for d in sorted(Path("/").iterdir())
        if str(d) not in walked
        for a in ("--exclude", str(d))
    ]
    run = subprocess.run(
        [str(python), "-I", "-S", str(agent), "collect", "--output", str(out), *excludes],
        env={"TMPDIR": str(scratch), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        cwd=scratch,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    named = parse_bundle_line(run.stdout)
    assert named is not None, run.stdout
    folder = out / named[0][: -len(".tar.gz")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {r["area"] for r in manifest["reduced_checks"]} == {"yara"}, manifest["reduced_checks"]
    assert "lo=127.0.0.1" in manifest["host"]["addresses"]
    inventory = json.loads((folder / "inventory.json").read_text())
    assert inventory["live"] is True
    processes = {p["pid"]: p for p in inventory["processes"]}
    child = processes[net_child.pid]
    assert child["denied"] == []
    listener = net_child.info["tcp4_listen"]
    assert {"remote_ip": "127.0.0.1", "remote_port": listener, "status": "ESTABLISHED"} in child[
        "connections"
    ]
    result = run_analyze(out / named[0]).result
    assert not [r for r in coverage_reasons(result) if "reduced" in r], coverage_reasons(result)
    assert list(scratch.iterdir()) == [], "the agent left files behind"


def _hiding_own_net(empty: Path) -> List[str]:
    """A command prefix running what follows with its own ``/proc/PID/net`` an empty directory
    (a private mount namespace; ``exec`` keeps the pid), or skip where that is not allowed."""
    shell = f'mount --bind {empty} /proc/$$/net && exec "$@"'
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", shell, "sh"]
    probe = [str(SYSTEM_PYTHON), "-I", "-S", "-c", "import os; print(os.listdir('/proc/self/net'))"]
    try:
        run = subprocess.run([*prefix, *probe], capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if run.returncode != 0 or run.stdout.strip() != b"[]":
        pytest.skip(f"cannot hide /proc/PID/net here: {run.stderr.decode()[-200:]}")
    return prefix


@pytest.mark.live
def test_live_agent_without_proc_net_names_processes_reduced(agent: Path, tmp_path: Path) -> None:
    """Where the agent cannot read its ``/proc/PID/net``, connections are named reduced (so the
    verdict is incomplete), never silently left out."""
    empty = tmp_path / "empty"
    empty.mkdir()
    prefix = _hiding_own_net(empty)
    out = tmp_path / "out"
    excludes = [
        a for d in sorted(Path("/").iterdir()) if str(d) != "/etc" for a in ("--exclude", str(d))
    ]
    run = subprocess.run(
        [
            *prefix,
            str(SYSTEM_PYTHON),
            "-I",
            "-S",
            str(agent),
            "collect",
            "--output",
            str(out),
            *excludes,
        ],
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    named = parse_bundle_line(run.stdout)
    assert named is not None, run.stdout
    manifest = json.loads((out / named[0][: -len(".tar.gz")] / "manifest.json").read_text())
    reduced = {r["area"]: r["detail"] for r in manifest["reduced_checks"]}
    assert "without connections" in reduced["processes"]
    assert "/net/tcp" in reduced["processes"]
    result = run_analyze(out / named[0]).result
    assert [r for r in coverage_reasons(result) if "processes:" in r], coverage_reasons(result)


def test_agent_bad_arguments_exit_2(agent: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            str(SYSTEM_PYTHON),
            "-I",
            "-S",
            str(agent),
            "collect",
            "--output",
            str(tmp_path / "o"),
            "--root",
            str(tmp_path / "missing"),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert b"sitesweep agent: error" in run.stderr


def test_build_agent_command(tmp_path: Path, run_cli: RunCli) -> None:
    target = tmp_path / "dist" / "agent.pyz"
    run = run_cli("build-agent", "--output", str(target))
    assert run.code == 0, run.err
    assert zipfile.is_zipfile(target)
    assert "SHA-256" in run.err


def test_agent_is_reproducible(agent: Path, tmp_path: Path, run_cli: RunCli) -> None:
    run = run_cli("build-agent", "--output", str(tmp_path / "again.pyz"))
    assert run.code == 0, run.err
    again = tmp_path / "again.pyz"
    assert again.read_bytes() == agent.read_bytes(), "same inputs must give the same agent"
    digest = hashlib.sha256(again.read_bytes()).hexdigest()
    assert f"SHA-256: {digest}" in run.err
    infos = zipfile.ZipFile(again).infolist()
    assert [i.filename for i in infos[:-1]] == sorted(i.filename for i in infos[:-1])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}  # not the build's time
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
