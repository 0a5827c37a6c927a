"""Shared fixtures: fake host roots built in tmp_path, and a CLI runner over ``cli.main``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from builders import FakeRoot
from clirun import CliRun, RunCli
from sitesweep.cli import main

# Property tests: no deadline (CI machines vary), a modest number of examples so the suite stays
# fast, and no example database (it would write .hypothesis/ into a possibly read-only checkout).
settings.register_profile(
    "sitesweep",
    deadline=None,
    max_examples=60,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("sitesweep")


@pytest.fixture
def fake_root(tmp_path: Path) -> FakeRoot:
    """An empty fake host tree with /etc/passwd and a hostname."""
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([("alice", 1000, "/home/alice"), ("bob", 1001, "/home/bob")])
    root.add_hostname("fixture-host")
    return root


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Call ``sitesweep`` in-process; returns the exit code and what it printed."""

    def run(*args: str) -> CliRun:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def linked(fake_root: FakeRoot) -> FakeRoot:
    """A tree with absolute, relative, final, escaping and looping symlinks, and an empty file."""
    fake_root.add_file("/srv/app/lib/mod.py", "x = 1\n")
    fake_root.add_file("/srv/app/lib/empty.py", b"")
    fake_root.add_symlink("/srv/link-abs", "/srv/app/lib")
    fake_root.add_symlink("/srv/link-rel", "app/lib")
    fake_root.add_symlink("/srv/app/lib/file-link", "mod.py")
    fake_root.add_symlink("/srv/app/lib/escape", "../../../../../../etc/passwd")
    fake_root.add_symlink("/srv/up", "../../..")
    fake_root.add_symlink("/srv/loop-a", "/srv/loop-b")
    fake_root.add_symlink("/srv/loop-b", "/srv/loop-a")
    return fake_root
