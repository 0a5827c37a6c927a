"""Persistence that runs anything (not only Python) from a temporary, hidden or user-writable
``bin`` directory is high with no pack; ordinary units stay quiet. Nothing planted runs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from builders import FakeRoot
from sitesweep.model import Severity
from waves import HOME, base_host, findings, worst

RULE = "heuristic/persistence-writable-dir"
UNIT = (
    "[Unit]\nDescription=System update helper\n\n[Service]\nExecStart={}\n\n"
    "[Install]\nWantedBy=default.target\n"
)


def _script(root: FakeRoot, path: str) -> None:
    root.add_file(path, f"#!/bin/sh\necho ran >> {root.marker}\n", mode=0o755)


def unit_local_bin_script(root: FakeRoot) -> None:
    _script(root, f"{HOME}/.local/bin/sysupd.sh")
    root.add_user_unit(HOME, "sysupd.service", UNIT.format("/bin/bash %h/.local/bin/sysupd.sh"))


def unit_local_bin_direct(root: FakeRoot) -> None:
    _script(root, f"{HOME}/.local/bin/pgmon.sh")
    root.add_user_unit(HOME, "pgmon.service", UNIT.format(f"{HOME}/.local/bin/pgmon.sh"))


def unit_local_bin_program(root: FakeRoot) -> None:
    _script(root, f"{HOME}/.local/bin/pgmon")
    root.add_user_unit(HOME, "pgmon.service", UNIT.format("%h/.local/bin/pgmon --daemon"))


def unit_tmp_binary(root: FakeRoot) -> None:
    root.add_user_unit(HOME, "cache.service", UNIT.format("/tmp/.cache-x/worker --quiet"))


def cron_hidden_dir(root: FakeRoot) -> None:
    root.add_file(
        "/var/spool/cron/crontabs/alice",
        "SHELL=/bin/sh\n*/10 * * * * $HOME/.config/.updater/run >/dev/null 2>&1\n",
        mode=0o600,
    )


def bashrc_tmp(root: FakeRoot) -> None:
    root.add_file(
        f"{HOME}/.bashrc", "alias ll='ls -l'\nnohup /var/tmp/.s/agent >/dev/null 2>&1 &\n"
    )


def unit_system_binary_twin(root: FakeRoot) -> None:
    root.add_user_unit(
        HOME, "syncthing.service", UNIT.format("/usr/bin/syncthing serve --no-browser")
    )


def unit_cargo_twin(root: FakeRoot) -> None:
    root.add_user_unit(HOME, "atuin.service", UNIT.format("%h/.cargo/bin/atuin daemon"))


def bashrc_plain_twin(root: FakeRoot) -> None:
    root.add_file(f"{HOME}/.bashrc", "export PATH=$HOME/.local/bin:$PATH\nalias gs='git status'\n")


Case = Tuple[str, Callable[[FakeRoot], None]]
MECHANICS: List[Case] = [
    ("unit-local-bin-script", unit_local_bin_script),
    ("unit-local-bin-direct", unit_local_bin_direct),
    ("unit-local-bin-program", unit_local_bin_program),
    ("unit-tmp-binary", unit_tmp_binary),
    ("cron-hidden-dir", cron_hidden_dir),
    ("bashrc-var-tmp", bashrc_tmp),
]
TWINS: List[Case] = [
    ("unit-usr-bin", unit_system_binary_twin),
    ("unit-cargo-bin", unit_cargo_twin),
    ("bashrc-path", bashrc_plain_twin),
]


@pytest.mark.parametrize("case", MECHANICS, ids=[c[0] for c in MECHANICS])
def test_runs_from_writable_dir_is_high(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    case[1](fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert worst(found, RULE) is Severity.HIGH, found
    assert not fake_root.marker.exists()


@pytest.mark.parametrize("case", TWINS, ids=[c[0] for c in TWINS])
def test_ordinary_entries_stay_quiet(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    case[1](fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert worst(found, RULE) is Severity.INFO, found
    assert not [f for f in found if Severity(str(f["severity"])).rank > Severity.LOW.rank]
