"""Run one piece of a scan in a forked worker process, beside the rest: the second core.

Most of a scan is Python holding the GIL (parsing modules, classifying a listing), so threads
cannot share it out; a process can. :func:`start` forks a worker that runs one function and
sends its return value back over a pipe (pickled: the worker is this very process, so nothing
foreign is ever unpickled), while the caller goes on with work that does not need that value;
:meth:`Apart.result` waits for it.

It forks only where that is safe and pays (:func:`can_fork`): on Linux, with two usable cores or
more, when only the calling thread runs (a lock another thread held at the fork would stay held
in the worker forever), and when the host door declares that its descriptors may be used from
two processes at once (a directory door resolves through ``openat``, which never moves a shared
file offset; an image door reads one image file by offset and may not). Everywhere else the
function runs inline, at once, so the results are the same either way.

The worker never returns into the caller's stack: whatever happens, it ends with ``os._exit``
(no ``finally`` of the caller runs twice, no scratch directory is removed by the worker), with
the caller's signal handlers reset to their defaults (a signal ends it like any process), and
the kernel kills it if the caller dies first. A
worker that raises, dies or is killed becomes :class:`ApartError` in the caller, which the
collector guard turns into a coverage gap like any failure.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from contextlib import nullcontext
from typing import Callable, ContextManager, Generic, List, Optional, Set, TypeVar

from sitesweep.hostfs import HostRoot
from sitesweep.parallel import usable_cores
from sitesweep.progress import Progress

__all__ = ["Apart", "ApartError", "can_fork", "running", "start"]

T = TypeVar("T")

_DISABLE = "SITESWEEP_NO_FORK"
"""Set (to anything) in the environment: never fork (every piece runs inline)."""

_CHUNK = 1 << 20

_RUNNING: Set[int] = set()
"""Process ids of the workers this process started and has not waited for yet."""


class ApartError(Exception):
    """The worker raised (its exception's type and text), exited early or was killed."""


def can_fork(root: HostRoot, progress: Optional[Progress] = None) -> bool:
    """Whether work on ``root`` may run in a forked worker here (see the module's docstring).

    ``progress``: what draws the scan's progress; its drawing thread is held while the threads
    are counted (a drawer alone does not keep the scan in one process)."""
    with _held(progress):
        return _forkable(root)


def _forkable(root: HostRoot) -> bool:
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and not os.environ.get(_DISABLE)
        and bool(getattr(root.door, "fork_safe", False))
        and threading.active_count() == 1
        and usable_cores() >= 2
    )


def _held(progress: Optional[Progress]) -> ContextManager[None]:
    return nullcontext() if progress is None else progress.hold()


class Apart(Generic[T]):
    """One piece of work running in a worker (or already done inline)."""

    def __init__(
        self,
        pid: int = 0,
        reader: int = -1,
        value: Optional[T] = None,
        failure: Optional[BaseException] = None,
    ) -> None:
        self._pid = pid
        self._reader = reader
        self._value = value
        self._failure = failure

    @property
    def forked(self) -> bool:
        """Whether the work runs (or ran) in a worker process."""
        return self._pid > 0 or self._reader >= 0

    def result(self) -> T:
        """The work's return value, waiting for the worker if it still runs.

        Raises:
            ApartError: the work raised (inline: the exception itself is raised), or the worker
                died before sending its value.
        """
        if self._pid > 0:
            self._collect()
        if self._failure is not None:
            raise self._failure
        return self._value  # type: ignore[return-value]

    def cancel(self) -> None:
        """Stop the worker, if any, and forget its value (the caller is giving up)."""
        if self._pid > 0:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._close()

    def _collect(self) -> None:
        chunks: List[bytes] = []
        try:
            while True:
                chunk = os.read(self._reader, _CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            self._close()
        status = self._reap()
        data = b"".join(chunks)
        if not data:
            self._failure = ApartError(f"worker ended without a result ({_describe(status)})")
            return
        try:
            ok, payload = pickle.loads(data)  # noqa: S301 - written by our own fork
        except Exception as exc:  # noqa: BLE001 - a truncated message: the worker died mid-write
            why = f"{type(exc).__name__}; {_describe(status)}"
            self._failure = ApartError(f"worker's result unreadable ({why})")
            return
        if ok:
            self._value = payload
        else:
            self._failure = ApartError(str(payload))

    def _reap(self) -> int:
        pid, self._pid = self._pid, 0
        _RUNNING.discard(pid)
        while True:
            try:
                return os.waitpid(pid, 0)[1]
            except InterruptedError:  # pragma: no cover - PEP 475 retries already
                continue
            except ChildProcessError:
                return 0

    def _close(self) -> None:
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1

    def __del__(self) -> None:
        if self._pid > 0:  # never waited for: do not leave a zombie or a stray worker
            self.cancel()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    return f"wait status {status}"


def start(work: Callable[[], T], root: HostRoot, progress: Optional[Progress] = None) -> Apart[T]:
    """Run ``work`` in a forked worker when :func:`can_fork` allows, else inline now.

    ``work`` must return a picklable value and have no effect the caller relies on other than
    that value (the worker's memory is its own). ``progress``: its drawing thread is held while
    the worker is forked (a lock that thread held would stay held in the worker).
    """
    with _held(progress):
        if _forkable(root):
            reader, writer = os.pipe()
            caller = os.getpid()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                _worker(work, reader, writer, caller)
            os.close(writer)
            _RUNNING.add(pid)
            return Apart(pid=pid, reader=reader)
    try:
        return Apart(value=work())
    except Exception as exc:  # noqa: BLE001 - handed to the caller by result(), as forked
        return Apart(failure=exc)


def running() -> int:
    """How many workers started here are not waited for yet: each may hold a core (a check
    running beside one sizes its threads to the cores left, :mod:`sitesweep.checks.yara`)."""
    return len(_RUNNING)


def _worker(work: Callable[[], object], reader: int, writer: int, caller: int) -> None:
    """Run ``work``, write ``(ok, value or error text)`` pickled to ``writer``, end the process."""
    status = 1
    try:
        os.close(reader)
        _die_with(caller)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) != signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
        try:
            message = pickle.dumps((True, work()), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as text
            text = f"{type(exc).__name__}: {exc}"
            message = pickle.dumps((False, text), pickle.HIGHEST_PROTOCOL)
        view = memoryview(message)
        while view:
            view = view[os.write(writer, view[:_CHUNK]) :]
        status = 0
    finally:
        os._exit(status)


_PR_SET_PDEATHSIG = 1


def _die_with(caller: int) -> None:
    """Have the kernel kill this worker when its caller ends (Linux ``PR_SET_PDEATHSIG``): a
    scan killed midway leaves no worker reading the host on its own."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the worker ends on EPIPE
        return
    if os.getppid() != caller:  # the caller ended before the request took effect
        os._exit(1)
