"""Spread independent per-file work (reading, hashing, YARA matching) over a few threads.

Threads, not processes: the heavy parts release the GIL (file reads, ``hashlib`` on large
buffers, yara-python's matching), and threads share the compiled rules and the host door
without pickling. Results come back in input order, so output stays deterministic.

The threads take the next item from a shared counter and store each result in its slot: no
future, queue or wake-up per item. The caller sleeps until the result it needs and a few more
are ready, so on a host with thousands of small files the work between two releases of the
GIL stays a few microseconds of Python, not thread hand-offs.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import (
    Callable,
    Dict,
    Generator,
    Generic,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

__all__ = ["DEFAULT_WORKERS", "ordered_map", "usable_cores"]

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


DEFAULT_WORKERS = min(4, usable_cores())
"""Threads used by default: the usable cores, at most four (a scan must stay gentle on a host)."""

WAKE_BATCH = 16
"""Results the caller lets complete, beyond the one it waits for, before it is woken."""

_Outcome = Tuple[bool, Union[R, BaseException]]


class _Slots(Generic[R]):
    """Results by item index, stored by the workers, taken by the caller in order."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._outcomes: Dict[int, _Outcome[R]] = {}
        self._done = 0
        self._waiting = -1
        self._target = 0
        self._cond = threading.Condition(threading.Lock())

    def put(self, index: int, outcome: _Outcome[R]) -> None:
        """Store a result; wake the caller if it now has what it waits for."""
        with self._cond:
            self._outcomes[index] = outcome
            self._done += 1
            if self._waiting >= 0 and self._ready():
                self._cond.notify()

    def take(self, index: int) -> _Outcome[R]:
        """Remove and return the outcome of item ``index``, sleeping until it and a few more
        are done (each wake-up of the caller then hands over several results)."""
        with self._cond:
            if index not in self._outcomes:
                self._waiting = index
                self._target = min(self._count, self._done + WAKE_BATCH)
                while not self._ready():
                    self._cond.wait()
                self._waiting = -1
            return self._outcomes.pop(index)

    def _ready(self) -> bool:
        return self._waiting in self._outcomes and self._done >= self._target


def ordered_map(
    func: Callable[[T], R], items: Sequence[T], workers: Optional[int] = None
) -> Generator[R, None, None]:
    """Yield ``func(item)`` for every item, in order, computed by up to ``workers`` threads.

    With one worker or fewer than two items, runs in the calling thread (no threads). An
    exception raised by ``func`` is re-raised here, when its result is reached. Closing the
    iterator early lets the threads finish the items they hold and start no more.
    """
    count = min(DEFAULT_WORKERS if workers is None else workers, len(items))
    if count <= 1:
        yield from map(func, items)
        return
    slots: _Slots[R] = _Slots(len(items))
    stop = threading.Event()
    take = _counter()

    def work() -> None:
        while not stop.is_set():
            index = take()
            if index >= len(items):
                return
            outcome: _Outcome[R]
            try:
                outcome = (True, func(items[index]))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, as a future does
                outcome = (False, exc)
            slots.put(index, outcome)

    threads = [threading.Thread(target=work, name=f"sitesweep_{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        for index in range(len(items)):
            ok, value = slots.take(index)
            if not ok:
                raise cast(BaseException, value)
            yield cast(R, value)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _counter() -> Callable[[], int]:
    """Return a thread-safe ``next index`` function."""
    lock = threading.Lock()
    numbers = itertools.count()

    def take() -> int:
        with lock:
            return next(numbers)

    return take
