"""Scratch space in ``TMPDIR`` that never outlives the process, even when it is killed.

A gzip bomb (a bundle archive whose member inflates to gigabytes, an image layer) is stopped by
a size bound, or by the responder pressing Ctrl-C, or by ``kill``. Whatever the process had
unpacked into ``TMPDIR`` must go with it: an earlier sitesweep killed part-way through a bomb
left 3 GB there. Two rules, one per kind of scratch:

* a scratch *file* (a decompressed image layer, a child's stderr) is anonymous from the start:
  ``tempfile.TemporaryFile`` opens it with ``O_TMPFILE`` (or unlinks it right after creating it),
  so not even ``SIGKILL`` can leave it behind. Use :func:`anonymous_file`.
* a scratch *directory* (an unpacked bundle archive, packs for the agent, SSH control sockets)
  needs names, so it cannot be anonymous: :func:`scratch_dir` makes it, removes it when the block
  ends, and registers it with a handler of ``SIGTERM``, ``SIGINT`` and ``SIGHUP``: where the
  signal's action was the default (the process ends at once, unwinding nothing), the handler
  removes every live scratch directory and then ends the process by that signal; where a Python
  handler was set (Ctrl-C's ``KeyboardInterrupt``, ``sweep``'s graceful stop) it is called, and a
  stop it raises unwinds the blocks, which remove their directories. Only ``SIGKILL`` can still
  leave one.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any, Callable, Dict, Iterator, Optional, Set, Union

__all__ = ["anonymous_file", "live_scratch", "scratch_dir"]

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

_LIVE: Set[str] = set()
_LOCK = threading.Lock()
_PREVIOUS: Dict[int, _Handler] = {}
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def live_scratch() -> Set[str]:
    """The scratch directories alive now (for tests)."""
    with _LOCK:
        return set(_LIVE)


def _remove_live() -> None:
    with _LOCK:
        paths = list(_LIVE)
        _LIVE.clear()
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    previous = _PREVIOUS.get(signum, signal.SIG_DFL)
    if callable(previous):
        # A Python handler (Ctrl-C's KeyboardInterrupt, sweep's graceful stop) decides: if it
        # raises, the scratch blocks unwind and remove their directories; if it lets the run go
        # on (sweep finishing the hosts in flight), they are still in use.
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    _remove_live()  # the default action ends the process without unwinding anything
    signal.signal(signum, signal.SIG_DFL)  # end by the same signal, as if never caught
    os.kill(os.getpid(), signum)


def _install() -> None:
    """Put :func:`_on_signal` in front of the current handlers (main thread only, once each)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _SIGNALS:
        current = signal.getsignal(sig)
        if current is _on_signal or current == signal.SIG_IGN:
            continue  # ours already, or the process was told to ignore it (nohup)
        _PREVIOUS[sig] = current
        try:
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            _PREVIOUS.pop(sig, None)


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private (mode 700) directory in ``TMPDIR``, removed when the block ends or a signal
    ends the process."""
    _install()
    path = tempfile.mkdtemp(prefix=prefix)
    with _LOCK:
        _LIVE.add(path)
    try:
        yield Path(path)
    finally:
        with _LOCK:
            _LIVE.discard(path)
        shutil.rmtree(path, ignore_errors=True)


def anonymous_file(prefix: str = "sitesweep-") -> IO[bytes]:
    """A read-write scratch file with no name from the start (``O_TMPFILE`` where the kernel has
    it, else unlinked right after creation): nothing is left in ``TMPDIR`` whatever ends us."""
    return tempfile.TemporaryFile(prefix=prefix)
