"""The walk skips git object stores by default, and what --prune names, and says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, FrozenSet

from builders import FakeRoot
from clirun import RunCli
from sitesweep.discovery import PythonEnv, WalkSpec, discover
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.host.identity import read_users
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason

GYP_VENV = "/home/alice/web/node_modules/node-gyp/gyp/.venv"
GIT_VENV = "/home/alice/src/app/.git/objects/ab/.venv"


def _tree(root: FakeRoot) -> FakeRoot:
    root.add_venv("/home/alice/src/app/.venv")
    root.add_venv(GYP_VENV)  # node-gyp builds a virtualenv inside node_modules
    root.add_venv(GIT_VENV)  # never happens for real: only here to see the prune work
    root.add_file("/home/alice/src/app/.git/objects/ab/cdef0123", b"x\x01")
    root.add_file("/home/alice/web/node_modules/left-pad/index.js", "module.exports = 1;\n")
    return root


def _discover(root: FakeRoot, prune: FrozenSet[str]) -> tuple[Dict[str, PythonEnv], list[Gap]]:
    host = HostRoot(root.path)
    gaps: list[Gap] = []
    found = discover(host, WalkSpec(prune=prune), read_users(host, gaps))
    return {env.prefix: env for env in found.environments}, list(found.gaps)


def test_default_prunes_git_objects_only(fake_root: FakeRoot) -> None:
    envs, gaps = _discover(_tree(fake_root), DEFAULT_PRUNE)
    assert "/home/alice/src/app/.venv" in envs
    assert GYP_VENV in envs  # node_modules is walked unless asked
    assert GIT_VENV not in envs
    assert not [g for g in gaps if g.reason is GapReason.PRUNED]


def test_nothing_pruned_when_asked(fake_root: FakeRoot) -> None:
    envs, _ = _discover(_tree(fake_root), frozenset())
    assert GIT_VENV in envs
    assert GYP_VENV in envs


def test_prune_by_name_is_a_counted_gap(fake_root: FakeRoot) -> None:
    _tree(fake_root)
    fake_root.add_file("/srv/other/node_modules/x/index.js", "")
    envs, gaps = _discover(fake_root, DEFAULT_PRUNE | {"node_modules"})
    assert GYP_VENV not in envs
    pruned = [g for g in gaps if g.reason is GapReason.PRUNED]
    assert len(pruned) == 1
    assert pruned[0].area == "discovery"
    assert "2 directories matching 'node_modules'" in pruned[0].detail


def test_prune_parent_and_name(fake_root: FakeRoot) -> None:
    _tree(fake_root)
    fake_root.add_venv("/opt/node-gyp/gyp/.venv")  # same name, other parent: walked
    envs, _ = _discover(fake_root, frozenset({"node-gyp/gyp"}))
    assert GYP_VENV not in envs
    assert "/opt/node-gyp/gyp/.venv" not in envs  # parent "node-gyp" matches here too
    assert "/home/alice/src/app/.venv" in envs


def _scanned_prefixes(run_cli: RunCli, root: FakeRoot, out: Path, *extra: str) -> set[str]:
    run = run_cli("scan", "--root", str(root.path), "--output", str(out), *extra)
    assert run.code == 0, run.err
    bundle = next(p for p in out.iterdir() if p.is_dir())
    envs = json.loads((bundle / "environments.json").read_text())
    rows = envs if isinstance(envs, list) else envs["environments"]
    return {e["prefix"] for e in rows}


def test_cli_prune_options(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    _tree(fake_root)
    pruned = _scanned_prefixes(run_cli, fake_root, tmp_path / "a", "--prune", "node_modules")
    assert GYP_VENV not in pruned
    assert GIT_VENV not in pruned
    assert "/home/alice/src/app/.venv" in pruned
    everything = _scanned_prefixes(run_cli, fake_root, tmp_path / "b", "--no-default-prune")
    assert {GYP_VENV, GIT_VENV, "/home/alice/src/app/.venv"} <= everything
    assert not fake_root.marker.exists()
