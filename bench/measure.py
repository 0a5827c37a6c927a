"""Measuring a child process: wall time from the parent's clock, CPU and peak RSS from wait4.

Shared by ``bench/run.py`` (sitesweep against its alternatives) and ``bench/ab.py`` (two
revisions of sitesweep against each other). Both measure in paired rounds and report medians,
so load from other work on a shared machine weighs on both sides of a pair.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, Mapping, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Measure:
    """One measured command (or loop of commands): one run, or the median of the rounds."""

    name: str
    wall: float
    cpu: float
    rss_mb: float
    facts: Dict[str, object]


def run_child(
    argv: Sequence[str],
    capture: bool = False,
    env: Optional[Mapping[str, str]] = None,
    cwd: Path = REPO,
    stderr: Optional[Path] = None,
) -> Measure:
    """Run one child; return its wall time, user+sys CPU and peak RSS (from wait4).

    ``capture``: the child's last stdout line is a JSON object of facts, added to ``facts``.
    ``stderr``: a file for the child's standard error (else it is discarded).
    """
    err: Optional[IO[bytes]] = None if stderr is None else stderr.open("wb")
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if err is None else err,
            cwd=cwd,
            env=None if env is None else dict(env),
        )
        out = proc.stdout.read() if proc.stdout is not None else b""
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if err is not None:
            err.close()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stdout is not None:
        proc.stdout.close()
    facts: Dict[str, object] = {"exit": proc.returncode}
    if capture and out.strip():
        facts.update(json.loads(out.decode().strip().splitlines()[-1]))
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(" ".join(argv[:2]), wall, cpu, usage.ru_maxrss / 1024, facts)


def median(values: Sequence[float]) -> float:
    """The median (the middle value of an odd count, the mean of the two middle ones)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row(r, widths) for r in body]
    return "\n".join(lines)
