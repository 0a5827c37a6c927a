"""Proofs of the safety rules, for every local command (scan, collect, analyze, verify, report).

One hostile tree carries every way scanned code could get run: a marker-writing ``.pth`` shaped
like litellm's, ``sitecustomize``/``usercustomize``, and interpreter stand-ins (``bin/python``,
``python3``) that are also first on the scanner's ``PATH``. Each command then runs in a network
namespace without interfaces, from an empty working directory with an empty ``HOME``, and:

* the marker never appears (nothing scanned was executed);
* a snapshot of the scanned tree (paths, types, sizes, modes, mtimes, and file access times
  where the filesystem records them) is unchanged, as are the input bundles, the working
  directory and ``HOME``: nothing was written outside ``--output``;
* the command still completes with its usual exit code.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, only_bundle

pytestmark = pytest.mark.nonroot

Snapshot = Dict[str, Tuple[int, int, int, int]]
_DAY = 86_400


def _marker_code(marker: Path, who: str) -> str:
    return f"with open({str(marker)!r}, 'a') as f:\n    f.write({who!r} + '\\n')\n"


def build_hostile_tree(root: FakeRoot) -> None:
    """Every planted thing would append to the marker if it ever ran."""
    root.add_venv(VENV)
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    root.add_pth(SITE, "evil_import.pth", "import evilmod\n")
    root.add_file(f"{SITE}/evilmod.py", _marker_code(root.marker, "evilmod"))
    root.add_file(f"{SITE}/sitecustomize.py", _marker_code(root.marker, "sitecustomize"))
    root.add_file(f"{SITE}/usercustomize.py", _marker_code(root.marker, "usercustomize"))
    root.add_system_python("3.11")
    root.add_file(
        "/usr/lib/python3/dist-packages/sitecustomize.py", _marker_code(root.marker, "sys")
    )
    for name in ("python3", "python", "pip", "sh"):
        root._marker_script(f"/stand-ins/{name}")


def _age_files(top: Path) -> None:
    """Give every file an access time older than its mtime, so any read would update it."""
    now = time.time()
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = Path(dirpath, name)
            if stat.S_ISREG(path.lstat().st_mode):
                os.utime(path, (now - 2 * _DAY, now - _DAY), follow_symlinks=False)


def snapshot(top: Path, with_atime: bool) -> Snapshot:
    """Every entry under ``top``: (mode, size, mtime_ns, atime_ns of regular files or 0)."""
    found: Snapshot = {}
    for dirpath, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = Path(dirpath, name)
            st = path.lstat()
            atime = st.st_atime_ns if with_atime and stat.S_ISREG(st.st_mode) else 0
            mtime = 0 if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns
            found[path.relative_to(top).as_posix()] = (st.st_mode, st.st_size, mtime, atime)
    return found


def _fs_records_atime(directory: Path) -> bool:
    probe = directory / "atime-probe"
    probe.write_text("probe\n")
    os.utime(probe, (time.time() - 2 * _DAY, time.time() - _DAY))
    before = probe.stat().st_atime_ns
    probe.read_text()
    changed = probe.stat().st_atime_ns != before
    probe.unlink()
    return changed


def _netns() -> List[str]:
    """The prefix that runs a command in a new network namespace, or skip saying why."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: cannot prove the no-network run")
    for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        if subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode == 0:
            return prefix
    pytest.skip("this sandbox forbids new network namespaces (unshare -n and -r -n both fail)")


def _run(prefix: Sequence[str], args: Sequence[str], cwd: Path, env: Dict[str, str]) -> int:
    cmd = [*prefix, sys.executable, "-I", "-m", "sitesweep", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode


def test_namespace_has_no_network() -> None:
    prefix = _netns()
    probe = (
        "import socket\n"
        "print(sorted(n for _, n in socket.if_nameindex()))\n"
        "s = socket.socket(); s.settimeout(5)\n"
        "try:\n    s.connect(('192.0.2.1', 53)); print('connected')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
    )
    out = subprocess.run(
        [*prefix, sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "['lo']"
    assert out[1].startswith("refused")
    assert socket.if_nameindex(), "the test machine itself has interfaces"


def test_no_command_executes_scanned_code_writes_outside_output_or_needs_network(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    prefix = _netns()
    build_hostile_tree(fake_root)
    _age_files(fake_root.path)
    atime = _fs_records_atime(tmp_path)
    if not atime:
        print("no atime on this filesystem: atime part of the snapshot skipped")  # noqa: T201
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {
        "PATH": f"{fake_root.host('/stand-ins')}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "PYTHONPATH": str(fake_root.host(SITE)),  # ignored under -I; must stay ignored
        "LANG": "C.UTF-8",
    }
    tree = snapshot(fake_root.path, atime)
    out = tmp_path / "out"
    root = str(fake_root.path)

    assert _run(prefix, ["scan", "--root", root, "--output", str(out / "scan")], cwd, env) == 1
    assert _run(prefix, ["collect", "--root", root, "--output", str(out / "col")], cwd, env) == 0
    scanned, collected = only_bundle(out / "scan"), only_bundle(out / "col")
    bundles = snapshot(out, with_atime=False)  # reading a bundle may update its atime
    archive = collected.parent / f"{collected.name}.tar.gz"
    for source in (collected, archive):
        analysis = str(out / "analysis")
        assert _run(prefix, ["analyze", str(source), "--output", analysis], cwd, env) == 1
    for source in (scanned, collected, archive):
        assert _run(prefix, ["verify", str(source)], cwd, env) == 0
    fleet = str(out / "fleet")
    report = _run(prefix, ["report", str(scanned), str(collected), "--output", fleet], cwd, env)
    assert report in (0, 1)

    assert not fake_root.marker.exists(), fake_root.marker.read_text()
    assert snapshot(fake_root.path, atime) == tree, "the scanned tree was changed"
    after = snapshot(out, with_atime=False)
    assert {k: v for k, v in after.items() if k in bundles} == bundles, "a bundle was changed"
    assert not any(cwd.iterdir()), "wrote into the working directory"
    assert not any(home.iterdir()), "wrote into HOME"
