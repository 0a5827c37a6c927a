"""The scanner's own supply chain: hash-locked dependencies, ``self-check`` and ``--version``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Dict, List

import pytest

from clirun import RunCli

REPO = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)")


def _pins(path: Path) -> Dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[match["name"].lower().replace("_", "-")] = match["version"]
    return pins


@pytest.mark.nonroot
def test_every_runtime_pin_carries_hashes() -> None:
    text = (REPO / "requirements.lock").read_text()
    lines = text.splitlines()
    pins = [n for n, line in enumerate(lines) if _PIN.match(line)]
    assert pins, "no pins found"
    for n in pins:
        assert lines[n].endswith("\\"), f"pin without a hash: {lines[n]}"
        assert lines[n + 1].strip().startswith("--hash=sha256:"), f"pin without a hash: {lines[n]}"
    assert _pins(REPO / "requirements.lock") == _pins(REPO / "requirements.in")
    assert "pip-compile --generate-hashes" in text.split("\n\n")[0]


@pytest.mark.nonroot
def test_every_intel_extra_pin_carries_hashes() -> None:
    lines = (REPO / "requirements-intel.lock").read_text().splitlines()
    pins = [n for n, line in enumerate(lines) if _PIN.match(line)]
    assert pins, "no pins found"
    for n in pins:
        assert lines[n].endswith("\\"), f"pin without a hash: {lines[n]}"
        assert lines[n + 1].strip().startswith("--hash=sha256:"), f"pin without a hash: {lines[n]}"
    locked = _pins(REPO / "requirements-intel.lock")
    assert _pins(REPO / "requirements-intel.in").items() <= locked.items()


@pytest.mark.nonroot
def test_readme_installs_with_require_hashes() -> None:
    readme = (REPO / "README.md").read_text()
    installs = [line for line in readme.splitlines() if "-r requirements.lock" in line]
    assert installs
    assert all("--require-hashes -r requirements.lock" in line for line in installs)


@pytest.mark.nonroot
def test_version_shows_tool_hash_and_packs(run_cli: RunCli) -> None:
    run = run_cli("--version")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert re.fullmatch(r"sitesweep \d+\.\d+\.\d+\S*", lines[0])
    assert re.fullmatch(r"tool sha256: [0-9a-f]{64}", lines[1])
    assert re.fullmatch(r"packs \(\d+\):", lines[2])
    assert any(line.startswith("  litellm-2026-03 ") for line in lines[3:])


def _is_editable() -> bool:
    text = metadata.distribution("sitesweep").read_text("direct_url.json") or "{}"
    return bool(json.loads(text).get("dir_info", {}).get("editable"))


@pytest.mark.nonroot
def test_self_check_refuses_to_pass_on_an_editable_install(run_cli: RunCli) -> None:
    if not _is_editable():
        pytest.skip("sitesweep is not installed in editable mode in this environment")
    run = run_cli("self-check")
    assert run.code == 2
    assert "CANNOT VERIFY" in run.err
    assert "editable install" in run.err
    assert re.fullmatch(r"[0-9a-f]{64}\n", run.out)


def _run(argv: List[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding sitesweep installed from a wheel built from this checkout.

    Its dependencies come from the test venv's site-packages through a ``.pth`` path line (the
    test venv's own ``.pth`` files are not processed, so its editable sitesweep stays out).
    """
    base = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(REPO), "-w", str(base)]
    )
    wheels = sorted(base.glob("sitesweep-*.whl"))
    if built.returncode != 0 or not wheels:
        pytest.skip(
            f"cannot build the sitesweep wheel here (no build backend?): {built.stderr[-300:]}"
        )
    venv = base / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    python = str(venv / "bin" / "python")
    installed = _run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])])
    assert installed.returncode == 0, installed.stderr
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    (Path(site.stdout.strip()) / "zz_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    return venv


def _sitesweep(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([str(venv / "bin" / "python"), "-I", "-m", "sitesweep", *args])


def _installed_package(venv: Path) -> Path:
    probe = _run(
        [str(venv / "bin" / "python"), "-I", "-c", "import sitesweep; print(sitesweep.__file__)"]
    )
    return Path(probe.stdout.strip()).parent


@pytest.mark.slow
def test_self_check_of_a_wheel_install_passes_then_catches_tampering(wheel_venv: Path) -> None:
    package = _installed_package(wheel_venv)
    assert wheel_venv in package.parents, "the wheel's sitesweep must be the one imported"
    clean = _sitesweep(wheel_venv, "self-check")
    assert clean.returncode == 0, clean.stderr
    assert "OK" in clean.stderr
    version = _sitesweep(wheel_venv, "--version")
    assert f"tool sha256: {clean.stdout.strip()}" in version.stdout

    target = package / "hostfs.py"
    original = target.read_bytes()
    target.write_bytes(original + b"\n# tampered\n")
    (package / "evil.py").write_text("# planted\n")
    (package / "py.typed").rename(wheel_venv / "py.typed.bak")
    try:
        tampered = _sitesweep(wheel_venv, "self-check")
    finally:
        target.write_bytes(original)
        (package / "evil.py").unlink()
        (wheel_venv / "py.typed.bak").rename(package / "py.typed")
    assert tampered.returncode == 1, tampered.stderr
    assert "MODIFIED (1):" in tampered.stderr
    assert "sitesweep/hostfs.py" in tampered.stderr
    assert "MISSING (1):" in tampered.stderr
    assert "sitesweep/py.typed" in tampered.stderr
    assert "UNLISTED (1):" in tampered.stderr
    assert "sitesweep/evil.py" in tampered.stderr
    assert tampered.stdout.strip() != clean.stdout.strip(), "the tool hash must change too"
    assert _sitesweep(wheel_venv, "self-check").returncode == 0


def _image_with_sitecustomize(base: Path) -> Path:
    """A scanned image's site dir whose ``sitecustomize.py`` only writes a canary when run."""
    site = base / "image" / "usr" / "lib" / "python3" / "dist-packages"
    site.mkdir(parents=True)
    canary = base / "CANARY"
    (site / "sitecustomize.py").write_text(f"open({str(canary)!r}, 'w').write('ran')\n")
    return site


@pytest.mark.slow
def test_installed_launcher_starts_isolated(wheel_venv: Path, tmp_path: Path) -> None:
    """``PYTHONPATH`` into a scanned image never runs the image's ``sitecustomize``."""
    launcher = wheel_venv / "bin" / "sitesweep"
    assert launcher.read_bytes().startswith(b"#!/bin/sh\n"), "not an installer-made launcher"
    site = _image_with_sitecustomize(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    # the control: a plain interpreter start with that environment does run the image's code
    control = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", "pass"], env=env, check=False, timeout=60
    )
    assert control.returncode == 0
    assert (tmp_path / "CANARY").exists()
    (tmp_path / "CANARY").unlink()

    linked = tmp_path / "bin" / "sitesweep"  # reached through a symlink, by PATH lookup
    linked.parent.mkdir()
    linked.symlink_to(launcher)
    for argv in ([str(launcher), "--version"], ["sitesweep", "--version"]):
        path_env = {**env, "PATH": f"{linked.parent}:/usr/bin:/bin"}
        run = subprocess.run(
            argv, env=path_env, capture_output=True, text=True, check=False, timeout=120
        )
        assert run.returncode == 0, run.stderr
        assert "tool sha256:" in run.stdout
        assert not (tmp_path / "CANARY").exists(), f"{argv[0]} ran the image's sitecustomize"


def test_python_m_sitesweep_restarts_isolated(tmp_path: Path) -> None:
    """``python -m sitesweep`` without ``-I`` re-executes itself with ``-I`` before anything."""
    script = (
        "import runpy, sys; sys.argv = ['sitesweep']; import sitesweep.__main__ as m; "
        "print(m.isolated_argv())"
    )
    plain = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert plain.stdout.strip() == repr([sys.executable, "-I", "-m", "sitesweep"])
    isolated = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert isolated.stdout.strip() == "None"


def _tamper_pyc(pyc: Path, source: Path, extra: str) -> None:
    """Replace a ``.pyc``'s code, keeping its header (source mtime and size) so Python loads it."""
    import marshal

    header = pyc.read_bytes()[:16]
    code = compile(source.read_text() + extra, str(source), "exec", dont_inherit=True)
    pyc.write_bytes(header + marshal.dumps(code))


@pytest.mark.slow
def test_self_check_catches_a_tampered_pyc(wheel_venv: Path) -> None:
    package = _installed_package(wheel_venv)
    tag = sys.implementation.cache_tag
    pyc = package / "__pycache__" / f"hostfs.{tag}.pyc"
    if not pyc.is_file():  # pip compiles on install; make sure there is one to tamper with
        _run([str(wheel_venv / "bin" / "python"), "-I", "-c", "import sitesweep.hostfs"])
    assert pyc.is_file()
    clean = _sitesweep(wheel_venv, "self-check")
    assert clean.returncode == 0, clean.stderr
    original = pyc.read_bytes()
    _tamper_pyc(pyc, package / "hostfs.py", "\nTAMPERED = True\n")
    probe = [str(wheel_venv / "bin" / "python"), "-I", "-c"]
    loaded = _run([*probe, "import sitesweep.hostfs as h; print(getattr(h, 'TAMPERED', False))"])
    try:
        assert loaded.stdout.strip() == "True", "Python must really load the tampered bytecode"
        tampered = _sitesweep(wheel_venv, "self-check")
    finally:
        pyc.write_bytes(original)
    assert tampered.returncode == 1, tampered.stderr
    assert "MODIFIED BYTECODE (1):" in tampered.stderr
    assert f"sitesweep/__pycache__/hostfs.{tag}.pyc" in tampered.stderr
    assert _sitesweep(wheel_venv, "self-check").returncode == 0


def test_bytecode_matches_its_source_or_not(tmp_path: Path) -> None:
    import py_compile

    from sitesweep.selfcheck import bytecode_matches

    source = tmp_path / "mod.py"
    source.write_text("VALUE = 1\n")
    pyc = Path(str(py_compile.compile(str(source), doraise=True)))
    assert bytecode_matches(pyc) is True
    _tamper_pyc(pyc, source, "VALUE = 2\n")
    assert bytecode_matches(pyc) is False
    foreign = pyc.with_name("mod.cpython-27.pyc")
    pyc.rename(foreign)
    assert bytecode_matches(foreign) is None
    orphan = tmp_path / "__pycache__" / f"gone.{sys.implementation.cache_tag}.pyc"
    orphan.write_bytes(foreign.read_bytes())
    assert bytecode_matches(orphan) is None
