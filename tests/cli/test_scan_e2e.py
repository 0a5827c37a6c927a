"""``sitesweep scan`` end to end on fake roots: findings, bundle, exit codes, nothing executed."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli, unprivileged

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
DISTUTILS_PTH = (
    "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
    "'local'; enabled and __import__('_distutils_hack').add_shim(); \n"
)

ALL_KINDS = {
    "/home/alice/app/.venv": "venv",
    "/home/alice/.local/pipx/venvs/black": "pipx",
    "/home/alice/.local/share/uv/tools/ruff": "uv-tool",
    "/home/alice/.cache/pypoetry/virtualenvs/app-x-py3.11": "poetry",
    "/home/alice/.local/share/pdm/venvs/app-y-3.11": "pdm",
    "/home/alice/.local/share/hatch/env/virtual/app/z/app": "hatch",
    "/srv/app/.tox/py311": "tox",
    "/srv/app/.nox/tests": "nox",
    "/mnt/win/proj/venv": "venv",
    "/opt/miniconda3": "conda",
    "/opt/miniconda3/envs/ml": "conda",
    "/usr": "system",
    "/usr/local": "system",
    "/home/alice/.local": "user-site",
    "/home/alice/.pyenv/versions/3.12.1": "pyenv",
    "/home/alice/.local/share/uv/python/cpython-3.12.7-linux-x86_64-gnu": "uv-python",
    "/opt/vendor/runtime": "embedded",
    "/opt/tool/bundled": "vendored",
    "/var/lib/docker/overlay2/abc/diff/usr/local": "container-layer",
}


def build_every_kind(root: FakeRoot) -> None:
    """One environment of every kind, each with a clean distribution and benign .pth files."""
    for prefix, kind in ALL_KINDS.items():
        if kind in ("venv", "pipx", "uv-tool", "poetry", "pdm", "hatch", "tox", "nox"):
            root.add_venv(prefix, windows=prefix.startswith("/mnt/win"))
    root.add_conda("/opt/miniconda3", env_names=("ml",))
    root.add_system_python("3.11")
    root.add_user_site("/home/alice", "3.12")
    root.add_site("/home/alice/.pyenv/versions/3.12.1/lib/python3.12/site-packages")
    root.add_site(
        f"{next(p for p, k in ALL_KINDS.items() if k == 'uv-python')}/lib/python3.12/site-packages"
    )
    root.add_site("/opt/vendor/runtime/lib/python3.9/site-packages")
    root.add_site("/opt/tool/bundled/site-packages")
    root.add_site("/var/lib/docker/overlay2/abc/diff/usr/local/lib/python3.11/site-packages")
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_dist(SITE, "litellm", "1.82.6")
    root.add_pth(SITE, "distutils-precedence.pth", DISTUTILS_PTH)
    root.add_pth(SITE, "_virtualenv.pth", "import _virtualenv\n")
    root.add_pth("/usr/lib/python3/dist-packages", "paths.pth", "/opt/extra\n")


def only_bundle(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def load(bundle: Path, name: str) -> Any:
    return json.loads((bundle / name).read_text())


def test_clean_fixture_every_kind_exit_0(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_every_kind(fake_root)
    out = tmp_path / "out"
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out))
    assert run.code == 0, run.err
    bundle = only_bundle(out)
    kinds = {e["prefix"]: e["kind"] for e in load(bundle, "environments.json")}
    assert kinds == ALL_KINDS
    findings = load(bundle, "findings.json")["findings"]
    assert findings, "benign .pth hooks are still reported, at info"
    assert {f["severity"] for f in findings} == {"info"}
    assert not fake_root.marker.exists()


def test_malicious_fixture_findings_and_nothing_executed(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_every_kind(fake_root)
    fake_root.add_venv(VENV.replace("app", "bad"))
    bad_site = SITE.replace("app", "bad")
    fake_root.add_dist(bad_site, "LiteLLM", "1.82.8")
    fake_root.add_pth(bad_site, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    # The .pth outlives the package: an environment where litellm was upgraded still has it.
    fake_root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    out = tmp_path / "out"
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out), "--json")
    assert run.code == 1
    findings: List[Dict[str, Any]] = json.loads(run.out)["findings"]
    by_rule: Dict[str, List[Dict[str, Any]]] = {}
    for f in findings:
        by_rule.setdefault(f["rule"], []).append(f)
    installed = by_rule["litellm-2026-03/affected/litellm"]
    assert [(f["severity"], f["version"], f["environment"]) for f in installed] == [
        ("critical", "1.82.8", VENV.replace("app", "bad"))
    ]
    pth_paths = {p for f in by_rule["litellm-2026-03/file/litellm-init-pth"] for p in f["paths"]}
    assert pth_paths == {f"{SITE}/litellm_init.pth", f"{bad_site}/litellm_init.pth"}
    heuristic = [f for f in by_rule["heuristic/pth-exec"] if f["severity"] == "high"]
    assert {f["paths"][0] for f in heuristic} == pth_paths
    assert not fake_root.marker.exists(), "scanned code was executed"
    doc = json.loads(run.out)
    assert doc["verdict"] == "compromised"
    assert doc["outcome"]["headline"].startswith("COMPROMISED: ")
    assert doc["host"]["hostname"] == "fixture-host"
    assert doc["bundle"]["directory"] == str(only_bundle(out))
    archive = Path(doc["bundle"]["archive"])
    assert doc["bundle"]["archive_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_bundle_contents(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "litellm", "1.82.8")
    fake_root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    out = tmp_path / "out"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(out)).code == 1
    bundle = only_bundle(out)
    assert bundle.name.startswith("sitesweep-fixture-host-")
    assert (out / f"{bundle.name}.tar.gz").is_file()
    manifest = load(bundle, "manifest.json")
    assert manifest["scan_root"] == str(fake_root.path.resolve())
    assert "litellm-2026-03" in [p["id"] for p in manifest["packs"]]
    assert manifest["host"]["hostname"] == "fixture-host"
    listed = set(manifest["files"])
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json"}
    # Host paths everywhere: the fixture prefix appears only in the manifest's scan_root.
    for name in on_disk - {"manifest.json"}:
        assert str(fake_root.path) not in (bundle / name).read_text(errors="replace"), name
    evidence = load(bundle, "evidence/index.json")
    copied = [e for e in evidence if e["host_path"] == f"{SITE}/litellm_init.pth"]
    assert len(copied) == 1
    assert copied[0]["copied"] is True
    copy = bundle / copied[0]["bundle_path"]
    assert copy.read_bytes() == fake_root.host(f"{SITE}/litellm_init.pth").read_bytes()
    assert not copy.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    assert not copy.name.endswith(".pth")


def _hostile_tree(root: FakeRoot) -> None:
    root.add_venv(VENV)
    os.mkfifo(root.host(f"{SITE}/x.pth"))
    root.add_symlink("/home/alice/loop_a", "/home/alice/loop_b")
    root.add_symlink("/home/alice/loop_b", "/home/alice/loop_a")
    locked = root.add_dir("/srv/locked")
    root.add_venv("/srv/locked/hidden-venv")
    locked.chmod(0)


def _gaps(bundle: Path) -> Set[tuple[str, str]]:
    return {(g["reason"], g["path"]) for g in load(bundle, "coverage.json")["gaps"]}


def test_fifo_and_symlink_loop_are_gaps(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _hostile_tree(fake_root)
    out = tmp_path / "out"
    try:
        run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out))
    finally:
        fake_root.host("/srv/locked").chmod(0o755)
    assert run.code == 0, run.err
    gaps = _gaps(only_bundle(out))
    assert ("special_file", f"{SITE}/x.pth") in gaps
    assert ("symlink_loop", "/home/alice/loop_a") in gaps
    assert ("symlink_loop", "/home/alice/loop_b") in gaps


def test_unreadable_directory_is_a_gap(fake_root: FakeRoot, tmp_path: Path) -> None:
    _hostile_tree(fake_root)
    out = tmp_path / "out"
    cmd = [sys.executable, "-I", "-m", "sitesweep", "scan", "--root", str(fake_root.path)]
    try:
        proc = subprocess.run(
            unprivileged([*cmd, "--output", str(out)]), capture_output=True, text=True, timeout=120
        )
    finally:
        fake_root.host("/srv/locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    gaps = _gaps(only_bundle(out))
    assert ("permission_denied", "/srv/locked") in gaps
    assert ("special_file", f"{SITE}/x.pth") in gaps
    assert "verdict\tincomplete\t" in proc.stdout  # never called clean
    assert "permission_denied" in proc.stdout


def test_bad_pack_is_exit_2(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    pack = tmp_path / "packs" / "broken-pack"
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text('format = 1\nid = "broken-pack"\n')
    run = run_cli("scan", "--root", str(fake_root.path), "--signatures", str(pack.parent))
    assert run.code == 2
    assert "pack.toml" in run.err
    assert "title" in run.err


def test_unwritable_output_is_exit_2(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(blocker / "out"))
    assert run.code == 2
    assert "cannot write the bundle" in run.err


def test_fail_on_threshold(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "_virtualenv.pth", "import _virtualenv\n")
    args = ("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "o"))
    assert run_cli(*args).code == 0
    assert run_cli(*args, "--fail-on", "info").code == 1


@pytest.mark.live
def test_live_scan_of_this_machine_finishes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path / "out"
    # The suite's own fixture trees (hundreds of thousands of files by now) are not this machine.
    fixtures = str(tmp_path_factory.getbasetemp().parent)
    argv = ["scan", "--output", str(out), "--json", "--exclude", fixtures]
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "sitesweep", *argv],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert isinstance(json.loads(proc.stdout)["findings"], list)
    manifest = load(only_bundle(out), "manifest.json")
    assert manifest["live"] is True
    assert load(only_bundle(out), "coverage.json")["environments"] >= 1
