"""Start-up cost: a run imports only what it uses (issue 7, the fixed cost of a small scan).

Each case runs a fresh interpreter (``sys.modules`` of this test process holds everything the
suite imported) and lists which of the heavy modules the run left unimported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

from builders import FakeRoot, malicious_pth_content

BUNDLE_ONLY = (
    "jinja2",
    "markupsafe",
    "tarfile",
    "sitesweep.bundle.writer",
    "sitesweep.bundle.reader",
    "sitesweep.bundle.age",
    "sitesweep.exports.html",
    "sitesweep.exports.sbom",
)
"""Needed only to write or read a bundle: the bundle writer, its HTML report, the reader."""

CLI_ONLY = ("click", "rich", "sitesweep.cli")
"""The command line: the library never imports it."""

OTHER_COMMANDS = (
    "sitesweep.fleet.sweep",
    "sitesweep.fleet.transport",
    "sitesweep.packs.osv_pack",
    "sitesweep.bundle.verify",
    "sitesweep.selfcheck",
    "importlib.metadata",
)
"""Modules of the commands other than ``scan`` (sweep, signatures import, verify, self-check)."""

_PROBE = """
import json, sys
{code}
wanted = json.loads(sys.argv[1])
print(json.dumps(sorted(m for m in wanted if m in sys.modules)))
"""


def imported_after(code: str, modules: Sequence[str]) -> List[str]:
    """Run ``code`` in a fresh interpreter; return which of ``modules`` it imported."""
    probe = _PROBE.format(code=code)
    proc = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(list(modules))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found: List[str] = json.loads(proc.stdout.splitlines()[-1])
    return found


@pytest.fixture
def small_host(fake_root: FakeRoot) -> FakeRoot:
    """A host with one venv holding litellm 1.82.8 and its ``.pth``: every check has work."""
    site = "/home/alice/app/.venv/lib/python3.11/site-packages"
    fake_root.add_venv("/home/alice/app/.venv")
    fake_root.add_dist(site, "litellm", "1.82.8")
    fake_root.add_pth(site, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    return fake_root


def test_importing_the_pipeline_leaves_bundle_and_cli_modules_out() -> None:
    unexpected = imported_after("import sitesweep.pipeline", (*BUNDLE_ONLY, *CLI_ONLY))
    assert unexpected == []


def test_a_scan_without_output_imports_no_bundle_module(small_host: FakeRoot) -> None:
    code = (
        "from pathlib import Path\n"
        "from sitesweep.pipeline import ScanOptions, run_scan\n"
        f"result = run_scan(ScanOptions(root=Path({str(small_host.path)!r}))).result\n"
        "assert result.findings, 'the fixture must give the checks something to find'\n"
    )
    heavy = (*BUNDLE_ONLY, *CLI_ONLY, "packaging.requirements", "zstandard")
    assert imported_after(code, heavy) == []
    assert not small_host.marker.exists()


def test_version_imports_neither_the_scan_nor_rich() -> None:
    code = "from sitesweep.cli import main\nmain(['--version'])\n"
    found = imported_after(code, ("rich", "sitesweep.engine", "sitesweep.inventory", "jinja2"))
    assert found == []


def test_cli_scan_imports_only_the_scan_command(small_host: FakeRoot, tmp_path: Path) -> None:
    args = ["scan", "--root", str(small_host.path), "--output", str(tmp_path / "out")]
    code = f"from sitesweep.cli import main\nassert main({args!r}) == 1, 'expected findings'\n"
    found = imported_after(code, (*OTHER_COMMANDS, "rich.logging", "jinja2"))
    assert found == ["jinja2"]  # the bundle's HTML report; rich.logging waits for a log record
    assert not small_host.marker.exists()
