"""The one read-only cluster query of ``--kubernetes``: ``kubectl get pods --all-namespaces``.

Opt-in and live only. It runs the ``kubectl`` found on the responder's PATH with the credentials
kubectl itself picks up; no other verb is ever run (no ``exec``, ``apply``, ``delete``, and never
``get secrets``). Output is read up to a size cap within a deadline; kubectl missing, failing,
hanging or printing something unreadable becomes a coverage gap, never an error.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO, List, Optional, Tuple

from sitesweep.host.cluster_model import ClusterPod
from sitesweep.host.cluster_parse import ClusterParseError, parse_pods
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason

AREA = "kubernetes"
DEFAULT_TIMEOUT = 30.0
"""Seconds allowed for the whole query (also passed to kubectl as ``--request-timeout``)."""
MAX_OUTPUT = 128 << 20
"""Largest ``kubectl`` output read; more is a ``too_large`` gap."""
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ClusterObservation:
    """What the cluster query saw: its pods, or the gaps that kept it from seeing them."""

    pods: Tuple[ClusterPod, ...] = ()
    gaps: Tuple[Gap, ...] = ()


def query_argv(kubectl: str, timeout: float) -> Tuple[str, ...]:
    """The exact, read-only command line run."""
    seconds = max(1, int(timeout))
    return (
        kubectl,
        "get",
        "pods",
        "--all-namespaces",
        "-o",
        "json",
        f"--request-timeout={seconds}s",
    )


def _gap(reason: GapReason, detail: str) -> ClusterObservation:
    return ClusterObservation(gaps=(Gap(AREA, None, reason, detail),))


def _read_bounded(stream: IO[bytes], deadline: float, limit: int) -> Tuple[bytes, Optional[str]]:
    """Read ``stream`` to its end; stop early with a reason on the deadline or past ``limit``."""
    chunks: List[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return b"", "timeout"
            chunk = os.read(stream.fileno(), _CHUNK)
            if not chunk:
                return b"".join(chunks), None
            size += len(chunk)
            if size > limit:
                return b"", "too_large"
            chunks.append(chunk)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill kubectl and anything it started (it runs in its own session), then reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
    proc.wait()


def _stderr_line(err: IO[bytes]) -> str:
    err.seek(0)
    lines = err.read(4096).decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:300] if lines else "no message"


def _run(argv: Tuple[str, ...], timeout: float, limit: int) -> Tuple[bytes, Optional[Gap]]:
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(  # fixed read-only argv, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return b"", Gap(AREA, None, GapReason.CHECK_SKIPPED, f"cannot run {argv[0]}: {exc}")
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
        try:
            out, stopped = _read_bounded(proc.stdout, deadline, limit)
            if stopped is None:
                proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            out, stopped = b"", "timeout"
        finally:
            _stop(proc)
            proc.stdout.close()
        if stopped == "timeout":
            return b"", Gap(AREA, None, GapReason.TIMEOUT, f"kubectl ran over {timeout:g}s")
        if stopped == "too_large":
            return b"", Gap(AREA, None, GapReason.TOO_LARGE, f"output over {limit} bytes")
        if proc.returncode != 0:
            detail = f"kubectl exited {proc.returncode}: {_stderr_line(err)}"
            return b"", Gap(AREA, None, GapReason.CHECK_FAILED, detail)
    return out, None


def query_cluster(
    kubectl: str, timeout: float = DEFAULT_TIMEOUT, limit: int = MAX_OUTPUT
) -> ClusterObservation:
    """Run ``kubectl get pods --all-namespaces -o json`` and read the pods it lists.

    Args:
        kubectl: path of the kubectl executable (the responder's, from PATH).
        timeout: seconds for the whole query; kubectl is killed after it.
        limit: largest output read, in bytes.

    Returns:
        The pods, or no pods and a gap (``check_skipped`` kubectl cannot be started,
        ``check_failed`` non-zero exit, ``timeout``, ``too_large``, ``parse_error``).
    """
    out, gap = _run(query_argv(kubectl, timeout), timeout, limit)
    if gap is not None:
        return ClusterObservation(gaps=(gap,))
    failed: List[Gap] = []
    try:
        pods, skipped = parse_pods(out, failed)
    except ClusterParseError as exc:
        return _gap(GapReason.PARSE_ERROR, f"kubectl output: {exc}")
    gaps: Tuple[Gap, ...] = tuple(failed)
    if skipped > len(failed):
        detail = f"{skipped - len(failed)} pod entries not objects"
        gaps += (Gap(AREA, None, GapReason.PARSE_ERROR, detail),)
    return ClusterObservation(pods, gaps)


def collect_cluster(
    root: HostRoot, enabled: bool, gaps: List[Gap], timeout: float = DEFAULT_TIMEOUT
) -> Tuple[ClusterPod, ...]:
    """The cluster's pods when ``--kubernetes`` was asked for on a live scan with kubectl on PATH.

    Args:
        root: the scanned host; under ``--root`` nothing runs and a ``live_only`` gap says so.
        enabled: whether the user asked for the query (no gap when not asked).
        gaps: receives the query's gaps.
        timeout: seconds for the query.
    """
    if not enabled:
        return ()
    if not root.is_live:
        gaps.append(Gap(AREA, None, GapReason.LIVE_ONLY, "the cluster is only queried live"))
        return ()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        gaps.append(Gap(AREA, None, GapReason.CHECK_SKIPPED, "kubectl is not on PATH"))
        return ()
    seen = query_cluster(kubectl, timeout)
    gaps.extend(seen.gaps)
    return seen.pods
