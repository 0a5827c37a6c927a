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
