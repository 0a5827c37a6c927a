"""Apply ``--io-nice`` / ``--cpu-nice`` before a scan, and say when they could not be applied."""

from __future__ import annotations

import logging
from typing import List

from sitesweep.cli.console import stderr
from sitesweep.cli.params import GentleArgs
from sitesweep.niceness import lower_cpu_priority, set_idle_io_priority

log = logging.getLogger(__name__)

CPU_NICE_INCREMENT = 10


def apply_priorities(gentle: GentleArgs) -> List[str]:
    """Lower CPU and I/O priority as asked; print and return what could not be done."""
    problems: List[str] = []
    if gentle.cpu_nice:
        problem = lower_cpu_priority(CPU_NICE_INCREMENT)
        if problem is not None:
            problems.append(problem)
    if gentle.io_nice:
        problem = set_idle_io_priority()
        if problem is not None:
            problems.append(problem)
    for problem in problems:
        log.warning("%s", problem)
        stderr.print(f"warning: {problem}", style="yellow", markup=False, highlight=False)
    return problems
