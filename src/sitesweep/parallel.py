"""Spread independent per-file work (reading, hashing, YARA matching) over a few threads.

Threads, not processes: the heavy parts release the GIL (file reads, ``hashlib`` on large
buffers, yara-python's matching), and threads share the compiled rules and the host door
without pickling. Results come back in input order, so output stays deterministic.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Optional, Sequence, TypeVar

__all__ = ["DEFAULT_WORKERS", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Threads used by default: the cores, at most four (a scan must stay gentle on a host)."""


def ordered_map(
    func: Callable[[T], R], items: Sequence[T], workers: Optional[int] = None
) -> Iterator[R]:
    """Yield ``func(item)`` for every item, in order, computed by up to ``workers`` threads.

    With one worker or fewer than two items, runs in the calling thread (no pool). An exception
    raised by ``func`` is re-raised here, when its result is reached.
    """
    count = DEFAULT_WORKERS if workers is None else workers
    if count <= 1 or len(items) < 2:
        yield from map(func, items)
        return
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="sitesweep") as pool:
        yield from pool.map(func, items)
