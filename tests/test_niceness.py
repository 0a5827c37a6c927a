"""--io-nice and --cpu-nice lower the scanner's own priority (checked in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from builders import FakeRoot
from sitesweep.niceness import (
    IOPRIO_CLASS_IDLE,
    IOPRIO_CLASS_SHIFT,
    get_io_priority,
    ioprio_syscalls,
    set_idle_io_priority,
)

CHILD = """
import json, os
from sitesweep.niceness import get_io_priority, lower_cpu_priority, set_idle_io_priority
before = (os.nice(0), get_io_priority())
problems = [lower_cpu_priority(10), set_idle_io_priority()]
after = (os.nice(0), get_io_priority())
print(json.dumps({"before": before, "after": after, "problems": problems}))
"""


def _child(code: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.skipif(ioprio_syscalls() is None, reason="no ioprio syscall on this platform")
def test_priorities_are_lowered_in_the_process() -> None:
    result = _child(CHILD)
    assert result["problems"] == [None, None]
    before, after = result["before"], result["after"]
    assert isinstance(before, list)
    assert isinstance(after, list)
    assert after[0] == min(before[0] + 10, 19)
    assert after[1] >> IOPRIO_CLASS_SHIFT == IOPRIO_CLASS_IDLE


def test_unknown_architecture_is_explained_not_raised() -> None:
    problem = set_idle_io_priority(machine="pdp11")
    assert problem is not None
    assert "no ioprio_set syscall known" in problem
    assert ioprio_syscalls("pdp11") is None


def test_reading_the_priority_does_not_change_it() -> None:
    first = get_io_priority()
    assert first == get_io_priority()


def test_scan_with_nice_options_runs(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv("/home/alice/app/.venv")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "sitesweep", "scan", "--root", str(fake_root.path)]
    argv += ["--output", str(out), "--io-nice", "--cpu-nice"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "priority not lowered" not in proc.stderr or ioprio_syscalls() is None
    assert any(p.is_dir() for p in out.iterdir())
    assert not fake_root.marker.exists()
