"""ordered_map: results in input order, from threads, with errors surfacing where they occur."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest

from sitesweep.parallel import ordered_map


def test_results_keep_input_order_even_when_later_items_finish_first() -> None:
    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (10 - n))
        return n * n

    assert list(ordered_map(slow_for_small, list(range(10)), workers=4)) == [
        n * n for n in range(10)
    ]


def test_work_runs_in_worker_threads() -> None:
    names: List[str] = []

    def record(n: int) -> int:
        names.append(threading.current_thread().name)
        return n

    assert list(ordered_map(record, [1, 2, 3], workers=2)) == [1, 2, 3]
    assert all(name.startswith("sitesweep") for name in names)


def test_one_worker_runs_inline() -> None:
    caller = threading.current_thread().name
    seen = list(ordered_map(lambda _: threading.current_thread().name, [1, 2], workers=1))
    assert seen == [caller, caller]


def test_an_error_is_raised_when_its_result_is_reached() -> None:
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    results = ordered_map(fail_on_three, [1, 2, 3, 4], workers=2)
    assert next(results) == 1
    assert next(results) == 2
    with pytest.raises(ValueError, match="three"):
        next(results)


def test_many_results_of_uneven_cost_come_back_in_order() -> None:
    def uneven(n: int) -> int:
        time.sleep(0.001 if n % 7 == 0 else 0)
        return -n

    items = list(range(200))  # more than one wake-up batch, results finishing out of order
    assert list(ordered_map(uneven, items, workers=3)) == [-n for n in items]


def test_closing_early_starts_no_further_items() -> None:
    started: List[int] = []

    def record(n: int) -> int:
        started.append(n)
        time.sleep(0.002)
        return n

    results = ordered_map(record, list(range(100)), workers=2)
    assert next(results) == 0
    results.close()  # waits for the threads, which take no new item
    count = len(started)
    time.sleep(0.01)
    assert len(started) == count < 100
    assert not any(t.name.startswith("sitesweep") for t in threading.enumerate())
