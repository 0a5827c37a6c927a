"""Lockfiles and requirement files: every format parsed leniently, affected pins reported."""

from __future__ import annotations

import json
from typing import List, Optional, Tuple

import pytest

from builders import FakeRoot
from sitesweep.checks import CheckContext
from sitesweep.checks.lockfiles import LockedAffectedVersion
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.metadata.lockfiles import parse_lockfile, tool_for
from sitesweep.model import GapReason, Severity
from sitesweep.packs import load_packs

Pins = List[Tuple[str, Optional[str]]]

POETRY = """\
[[package]]
name = "LiteLLM"
version = "1.82.7"
description = "x"

[[package]]
name = "openai"
version = "1.30.0"

[metadata]
lock-version = "2.0"
"""

PDM = """\
[metadata]
groups = ["default"]

[[package]]
name = "litellm"
version = "1.82.8"
"""

PYLOCK = """\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "litellm"
version = "1.82.8"

[[packages]]
name = "local-thing"
"""

PIPFILE = json.dumps(
    {
        "_meta": {"hash": {"sha256": "x"}},
        "default": {"litellm": {"version": "==1.82.8", "hashes": []}},
        "develop": {"pytest": {"version": ">=8"}},
    }
)

REQUIREMENTS = """\
# pinned by pip-compile
--index-url https://pypi.org/simple
litellm[proxy]==1.82.7 ; python_version >= "3.9" \\
    --hash=sha256:8395c3268d5c5dbae1c7c6d4bb3c318c752ba4608cfcd90eb97ffb94a910eac2
requests>=2.31  # a range, not a pin
-r other.txt
git+https://github.com/example/thing.git
Django===4.2.0
!!! broken line
"""

ENVIRONMENT = """\
name: ml
channels:
  - conda-forge
dependencies:
  - python=3.11
  - conda-forge::litellm=1.82.8=pyhd8ed1ab_0
  - numpy
  - pip
  - pip:
    - litellm==1.82.7
    - "openai>=1"
"""


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("poetry.lock", POETRY, [("litellm", "1.82.7"), ("openai", "1.30.0")]),
        ("pdm.lock", PDM, [("litellm", "1.82.8")]),
        ("pylock.toml", PYLOCK, [("litellm", "1.82.8"), ("local-thing", None)]),
        ("Pipfile.lock", PIPFILE, [("litellm", "1.82.8"), ("pytest", None)]),
        (
            "requirements-prod.txt",
            REQUIREMENTS,
            [("litellm", "1.82.7"), ("requests", None), ("django", "4.2.0")],
        ),
        (
            "environment.yml",
            ENVIRONMENT,
            [
                ("python", "3.11"),
                ("litellm", "1.82.8"),
                ("numpy", None),
                ("pip", None),
                ("litellm", "1.82.7"),
                ("openai", None),
            ],
        ),
    ],
    ids=["poetry", "pdm", "pylock", "pipfile", "requirements", "environment"],
)
def test_formats_are_parsed(filename: str, text: str, expected: Pins) -> None:
    tool = tool_for(filename)
    assert tool is not None
    problems: List[str] = []
    pins = parse_lockfile(text, tool, problems)
    assert [(p.name, p.version) for p in pins] == expected
    if filename.startswith("requirements"):
        assert problems == ["line 9: not understood: '!!! broken line'"]
        assert pins[0].line == 3
    else:
        assert problems == []


def test_names_that_are_not_lockfiles() -> None:
    assert tool_for("requirements.in") is None
    assert tool_for("Pipfile") is None
    assert tool_for("requirements.txt") == "pip"


def test_walk_finds_lockfiles_and_check_reports_affected_pins(fake_root: FakeRoot) -> None:
    fake_root.add_file("/home/alice/proj/poetry.lock", POETRY)
    fake_root.add_file("/home/alice/proj/requirements/requirements-dev.txt", REQUIREMENTS)
    fake_root.add_file("/srv/app/Pipfile.lock", PIPFILE)
    fake_root.add_file("/srv/ml/environment.yml", ENVIRONMENT)
    fake_root.add_file("/srv/safe/pdm.lock", PDM.replace("1.82.8", "1.82.6"))
    fake_root.add_file("/srv/broken/uv.lock", "[[package]\nname = ")
    inv = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    assert [lock.path for lock in inv.lockfiles] == [
        "/home/alice/proj/poetry.lock",
        "/home/alice/proj/requirements/requirements-dev.txt",
        "/srv/app/Pipfile.lock",
        "/srv/broken/uv.lock",
        "/srv/ml/environment.yml",
        "/srv/safe/pdm.lock",
    ]
    broken = [g for g in inv.gaps if g.path == "/srv/broken/uv.lock"]
    assert [g.reason for g in broken] == [GapReason.PARSE_ERROR]
    findings = list(LockedAffectedVersion().run(CheckContext(inv, load_packs())))
    got = sorted((f.paths[0], f.version or "", f.severity) for f in findings)
    assert got == [
        ("/home/alice/proj/poetry.lock", "1.82.7", Severity.MEDIUM),
        ("/home/alice/proj/requirements/requirements-dev.txt", "1.82.7", Severity.MEDIUM),
        ("/srv/app/Pipfile.lock", "1.82.8", Severity.MEDIUM),
        ("/srv/ml/environment.yml", "1.82.7", Severity.MEDIUM),
        ("/srv/ml/environment.yml", "1.82.8", Severity.MEDIUM),
    ]
