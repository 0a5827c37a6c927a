"""The walk shared with a forked worker gives exactly the walk of one process.

A host of several environments of every kind (venvs, a conda base with envs, a system Python,
a user site, a ``pkgs`` package dir), packages whose listings the walk keeps (equal ones in two
environments), lockfiles, indicator and configuration file names, a pruned directory, a linked
site dir, one linking nowhere, a symlink loop and an unreadable directory: cut into units of
every size, shared between the two processes or left to the worker alone, the result equals the
sequential walk's field by field, in the same order. Where no worker may be forked, the walk
never forks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from builders import FakeRoot
from clirun import unprivileged
from sitesweep import apart
from sitesweep.discovery import split
from sitesweep.discovery.classify import PACKAGE_DIR_NAMES
from sitesweep.discovery.walk import DEFAULT_PRUNE, WalkResult, WalkSpec, _Walker, walk
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.importtime import SHAPE_DEPTH, maybe_carried
from sitesweep.model import GapReason
from sitesweep.progress import NullProgress

pytestmark = pytest.mark.nonroot

LOCKED = "/srv/locked"
SPEC = WalkSpec(
    names=frozenset({"litellm_init.pth"}),
    lockfile_names=frozenset({"uv.lock", "poetry.lock"}),
    requirements=True,
    prune=DEFAULT_PRUNE | {"node_modules"},
    config_names=frozenset({".mcp.json"}),
    package_dir_names=PACKAGE_DIR_NAMES,
    listing_depth=SHAPE_DEPTH,
    listing_filter=maybe_carried,
    whole_listing_names=frozenset({"litellm"}),
)


def _host(root: FakeRoot) -> FakeRoot:
    files = {
        "litellm/__init__.py": b"",
        "litellm/proxy/ui/app.js": b"",
        "litellm/proxy/ui/assets/x.so": b"",
    }
    for index, project in enumerate(("/home/alice/app", "/home/bob/.virtualenvs")):
        prefix = f"{project}/.venv"
        root.add_venv(prefix)
        site = root.venv_site_packages(prefix)
        root.add_dist(site, "litellm", "1.82.6", files=files)  # equal listings, kept once
        root.add_dist(site, f"pkg{index}", "1.0", files={f"pkg{index}/native.so": b""})
        root.add_file(f"{project}/uv.lock", "version = 1\n")
        root.add_file(f"{project}/requirements-dev.txt", "litellm\n")
    root.add_conda("/opt/conda", env_names=("ml", "web"))
    root.add_dist("/opt/conda/lib/python3.11/site-packages", "numpy", "2.0.0")
    root.add_system_python()
    root.add_user_site("/home/alice")
    root.add_file("/home/alice/.local/lib/python3.11/site-packages/litellm_init.pth", "x\n")
    root.add_file("/home/alice/.mcp.json", "{}\n")
    root.add_file("/srv/app/pkgs/vendored/__init__.py", "")
    root.add_file("/srv/web/node_modules/left-pad/index.js", "module.exports = 1;\n")
    root.add_file("/srv/web/.git/objects/ab/cdef", b"x\x01")
    root.add_dist("/opt/store", "linked", "3.0")
    root.add_file("/opt/tool/pyvenv.cfg", "home = /usr/bin\n")
    root.add_symlink("/opt/tool/lib/python3.11/site-packages", "/opt/store")
    root.add_symlink("/opt/broken/lib/python3.11/site-packages", "/nowhere")
    root.add_symlink("/srv/loop-a", "/srv/loop-b")
    root.add_symlink("/srv/loop-b", "/srv/loop-a")
    root.add_venv(f"{LOCKED}/hidden")
    for number in range(12):  # more directories side by side than a small cut takes
        root.add_file(f"/home/alice/Documents/{number}/notes.txt", "x\n")
    return root


def _sequential(path: Path) -> WalkResult:
    return _Walker(HostRoot(path), SPEC, NullProgress()).run()


def _split(path: Path, units: int, share: bool) -> WalkResult:
    return split.walk_in_two(_Walker(HostRoot(path), SPEC, NullProgress()), units, share)


def _differences(got: WalkResult, want: WalkResult) -> List[str]:
    """The fields that differ, in value or (lists, dicts) in order."""
    return [
        f.name
        for f in fields(WalkResult)
        if getattr(got, f.name) != getattr(want, f.name)
        or repr(getattr(got, f.name)) != repr(getattr(want, f.name))
    ]


@pytest.mark.parametrize("share", [True, False], ids=["shared", "worker-alone"])
@pytest.mark.parametrize("units", [1, 2, 5, 17, 1000])
def test_split_walk_equals_the_sequential_walk(
    fake_root: FakeRoot, units: int, share: bool
) -> None:
    _host(fake_root)
    want = _sequential(fake_root.path)
    assert _differences(_split(fake_root.path, units, share), want) == []
    assert len(want.site_dirs) >= 10
    assert want.linked_sites
    assert want.package_listings
    assert want.lockfiles
    assert want.pruned == {"node_modules": 1, ".git/objects": 1}
    reasons = {g.reason for g in want.gaps}
    assert {GapReason.SYMLINK_LOOP, GapReason.OUTSIDE_ROOT, GapReason.PRUNED} <= reasons


def test_equal_listings_stay_one_object_across_the_processes(fake_root: FakeRoot) -> None:
    _host(fake_root)
    got = _split(fake_root.path, 17, share=False)  # every listing came from the worker
    prefix = "/lib/python3.11/site-packages/litellm"
    alice = got.package_listings[f"/home/alice/app/.venv{prefix}"]
    assert alice is got.package_listings[f"/home/bob/.virtualenvs/.venv{prefix}"]


_UNPRIVILEGED = """
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[2], sys.argv[3]]
import test_walk_split as t
path = Path(sys.argv[1])
want = t._sequential(path)
report = {
    f"{units}-{share}": t._differences(t._split(path, units, share), want)
    for units in (1, 5, 1000) for share in (True, False)
}
report["gaps"] = [[g.path, g.reason.value] for g in want.gaps]
print(json.dumps(report))
"""


def test_an_unreadable_directory_is_the_same_gap_either_way(fake_root: FakeRoot) -> None:
    _host(fake_root).host(LOCKED).chmod(0)
    try:
        here = Path(__file__).parent
        paths = (str(fake_root.path), str(here), str(here.parent))
        argv = [sys.executable, "-c", _UNPRIVILEGED, *paths]
        proc = subprocess.run(
            unprivileged(argv), capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        fake_root.host(LOCKED).chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    report: Dict[str, Any] = json.loads(proc.stdout)
    assert [LOCKED, "permission_denied"] in report.pop("gaps")
    assert report == {key: [] for key in report}


def _widen(root: FakeRoot) -> FakeRoot:
    """More top directories than the default cut takes: the walk is shared."""
    for number in range(split.UNITS + 10):
        root.add_dir(f"/data/{number}/sub")
    return root


def _forks(monkeypatch: pytest.MonkeyPatch, allow: bool) -> List[int]:
    """Count the forks (each delegates to the real one unless ``allow`` is False)."""
    forks: List[int] = []
    real: Callable[[], int] = os.fork

    def counted() -> int:
        forks.append(1)
        assert allow, "forked where no worker may be"
        return real()

    monkeypatch.setattr(os, "fork", counted)
    return forks


def test_where_it_may_not_fork_the_walk_runs_in_one_process(
    fake_root: FakeRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _widen(_host(fake_root))
    monkeypatch.setenv("SITESWEEP_NO_FORK", "1")
    root = HostRoot(fake_root.path)
    assert not apart.can_fork(root)
    forks = _forks(monkeypatch, allow=False)
    assert _differences(walk(root, SPEC), _sequential(fake_root.path)) == []
    assert forks == []


def test_where_it_may_fork_a_large_tree_is_shared_and_a_small_one_is_not(
    fake_root: FakeRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _host(fake_root)
    root = HostRoot(fake_root.path)
    if not apart.can_fork(root):
        pytest.skip("no worker may be forked here (one usable core, or not Linux)")
    forks = _forks(monkeypatch, allow=True)
    assert _differences(walk(root, SPEC), _sequential(fake_root.path)) == []
    assert forks == []  # the whole tree fits in the cut: nothing to share
    _widen(fake_root)
    assert _differences(walk(root, SPEC), _sequential(fake_root.path)) == []
    assert forks == [1]


def test_a_walk_drawing_progress_on_a_terminal_is_still_shared(
    fake_root: FakeRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the progress bar draws from a thread; it is held while the worker is forked,
    so an interactive scan walks on two cores too."""
    import io
    import threading

    from rich.console import Console

    from sitesweep.cli.console import RichProgress

    _widen(_host(fake_root))
    root = HostRoot(fake_root.path)
    if not apart.can_fork(root):
        pytest.skip("no worker may be forked here (one usable core, or not Linux)")
    forks = _forks(monkeypatch, allow=True)
    with RichProgress(Console(file=io.StringIO(), force_terminal=True)) as progress:
        drawing = threading.active_count()
        assert drawing > 1
        got = walk(root, SPEC, progress)
        assert threading.active_count() == drawing
    assert forks == [1]
    assert _differences(got, _sequential(fake_root.path)) == []
