"""Sweep many hosts over SSH: push the agent, run it, fetch and check the bundle, clean up, analyse.

Each host ends with one :class:`HostStatus`; no host's failure stops the sweep. The remote temp
dir is removed after every attempt that created it, whatever happened in between. Each host's
attempt is appended to its journal (:mod:`sitesweep.fleet.journal`) the moment it ends, so an
interrupted sweep keeps what it did; ``sweep.json`` (per host: its latest attempt) is a summary
of the journal rewritten at the end, kept for readers of earlier versions.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

from sitesweep.bundle.age import AGE_SUFFIX, EncryptionError, encrypt_file
from sitesweep.errors import BundleError, OutputError
from sitesweep.fleet import remote
from sitesweep.fleet.hosts import Host
from sitesweep.fleet.journal import (
    JOURNAL_DIR,
    Attempt,
    append,
    latest,
    now_text,
    read_attempts,
    safe_name,
)
from sitesweep.fleet.transport import (
    CommandResult,
    SshSettings,
    Transport,
    become_failure,
    connection_failure,
)
from sitesweep.fleet.views import (
    cache_path,
    file_sha256,
    packs_digest,
    store_view,
    view_of,
)
from sitesweep.model import Severity, StrEnum
from sitesweep.outputs import refuse_bundle_dir, write_new
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.pipeline import run_analyze
from sitesweep.scratch import scratch_dir

SWEEP_FILE = "sweep.json"
DEFAULT_MAX_BUNDLE = 2 << 30
DEFAULT_MAX_STDOUT = 64 << 10


class HostStatus(StrEnum):
    """How the sweep of one host ended."""

    OK = "ok"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    NO_PYTHON3 = "no_python3"
    PYTHON_TOO_OLD = "python_too_old"
    BECOME_FAILED = "become_failed"
    INTERRUPTED = "interrupted"
    TIMEOUT = "timeout"
    BAD_OUTPUT = "bad_output"
    COLLECTOR_FAILED = "collector_failed"


@dataclass(frozen=True)
class SweepSettings:
    """Everything one sweep needs.

    Attributes:
        output: local directory receiving ``<host>/<bundle>.tar.gz``, analyses and sweep.json.
        agent: the agent zipapp to push.
        ssh: how to reach the hosts.
        parallel: hosts swept at once.
        timeout: seconds allowed per host, connection to clean-up.
        become: run the agent (and the clean-up) with ``sudo -n``.
        remote_tmp: directory on the targets under which a fresh temp dir is made.
        max_bundle: largest bundle fetched, in bytes.
        max_stdout: largest agent output accepted, in bytes.
        signatures: extra pack directories for the local analysis.
        threshold: findings at or above it make a host compromised (the cached fleet view).
        stop: set to interrupt the sweep (SIGINT/SIGTERM): running steps are killed, in-flight
            targets are cleaned up and journalled as ``interrupted``, hosts not begun are left.
        multiplex: one SSH connection per host for all its steps (ControlMaster, with the
            sockets in a private temp dir removed at the end).
        agent_args: extra options for the agent's ``collect`` (exclude, prune, nice, custody).
        match_on_target: the agent matches the packs on the target (``collect --match``) and
            the controller merges its findings with its own YARA (:mod:`sitesweep.merge`);
            ``False``: the agent only collects and everything is matched here.
        encrypt_to: age public keys: each bundle is encrypted on this machine the moment it has
            been fetched and checked (the plaintext is then deleted); only the ``.tar.gz.age``
            stays, and no analysis or cached view is written in clear beside it.
        identity: the age identity that opens them, to judge each host right away (decrypted
            into a private temporary directory, removed after); without it an encrypted host
            is ``unchecked`` (status ``encrypted``) until ``report --identity``.
    """

    output: Path
    agent: Path
    ssh: SshSettings = field(default_factory=SshSettings)
    parallel: int = 8
    timeout: float = 900.0
    become: bool = False
    remote_tmp: str = "/tmp"  # noqa: S108 - a directory on the target, created with mktemp -d
    max_bundle: int = DEFAULT_MAX_BUNDLE
    max_stdout: int = DEFAULT_MAX_STDOUT
    signatures: Tuple[Path, ...] = ()
    threshold: Severity = Severity.HIGH
    stop: Optional[threading.Event] = field(default=None, compare=False)
    multiplex: bool = True
    agent_args: Tuple[str, ...] = ()
    match_on_target: bool = True
    encrypt_to: Tuple[str, ...] = ()
    identity: Optional[Path] = None


@dataclass(frozen=True)
class HostResult:
    """The outcome for one host (``bundle`` and ``analysis`` are relative to the output dir)."""

    host: str
    address: str
    status: HostStatus
    detail: str
    bundle: Optional[str] = None
    sha256: Optional[str] = None
    analysis: Optional[str] = None
    seconds: float = 0.0
    cleaned: bool = False
    started: str = ""
    finished: str = ""


class _StepError(Exception):
    """One step of a host's sweep failed with this status."""

    def __init__(self, status: HostStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _tail(text: str, limit: int = 300) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:limit]


def _check(result: CommandResult, step: str) -> None:
    """Turn a failed ssh/scp step into :class:`_StepError`."""
    if result.interrupted:
        raise _StepError(HostStatus.INTERRUPTED, f"{step}: the sweep was interrupted")
    if result.timed_out:
        raise _StepError(HostStatus.TIMEOUT, f"{step}: timed out")
    failure = connection_failure(result)
    if failure is not None:
        raise _StepError(HostStatus(failure), f"{step}: {_tail(result.stderr)}")
    if result.returncode != 0:
        detail = f"{step}: exit {result.returncode}: {_tail(result.stderr)}"
        raise _StepError(HostStatus.COLLECTOR_FAILED, detail)


class _HostSweep:
    """The steps for one host, with a deadline shared by all of them."""

    def __init__(self, host: Host, settings: SweepSettings, packs: Optional[PackSet]) -> None:
        self.host = host
        self.settings = settings
        self.packs = packs
        self.transport = Transport(settings.ssh, host, settings.stop)
        self.deadline = time.monotonic() + settings.timeout
        self.local_dir = settings.output / safe_name(host.name)
        self.python = host.python
        self.note = ""

    def retry_note(self) -> str:
        retried = self.transport.retried
        return f"(after {retried} retried connection(s))" if retried else ""

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _StepError(HostStatus.TIMEOUT, f"no time left of {self.settings.timeout:.0f}s")
        return remaining

    def connect(self) -> None:
        """Open the host's one shared SSH connection (when multiplexing)."""
        _check(self.transport.open(self.left()), "connect")

    def prepare(self) -> str:
        """Find an interpreter the agent runs on and make the private temp dir."""
        base = self.settings.remote_tmp
        result = self.transport.run(remote.prepare_command(self.host.python, base), self.left())
        text = result.stdout.decode("utf-8", "replace")
        wanted = " or ".join(remote.candidates(self.host.python))
        if result.returncode == remote.NO_PYTHON:
            raise _StepError(HostStatus.NO_PYTHON3, f"{wanted}: not found on the target")
        chosen, old = remote.parse_prepare(text)
        if result.returncode == remote.TOO_OLD:
            need = ".".join(map(str, remote.MIN_PYTHON))
            raise _StepError(
                HostStatus.PYTHON_TOO_OLD,
                f"the agent needs Python >= {need}; found {', '.join(old) or 'none usable'} "
                "(install python3.9+ or set sitesweep_python to one)",
            )
        _check(result, "prepare")
        temp = remote.valid_temp_dir(text, base)
        if temp is None or chosen is None:
            raise _StepError(HostStatus.COLLECTOR_FAILED, f"mktemp under {base} gave no usable dir")
        self.python = chosen[0]
        if old:
            self.note = f"with {chosen[0]} ({chosen[1]}; {', '.join(old)})"
        return temp

    def collect(self, temp: str) -> Tuple[str, str, int]:
        _check(
            self.transport.push(self.settings.agent, f"{temp}/{remote.AGENT_NAME}", self.left()),
            "push",
        )
        budget = self.left()
        command = remote.collect_command(
            temp,
            self.python,
            self.host.root,
            self.settings.become,
            max(1, int(budget) - 5),
            (*(("--match",) if self.settings.match_on_target else ()), *self.settings.agent_args),
        )
        result = self.transport.run(command, budget, self.settings.max_stdout)
        if self.settings.become and result.returncode != 0 and become_failure(result.stderr):
            raise _StepError(HostStatus.BECOME_FAILED, f"sudo -n: {_tail(result.stderr)}")
        if result.returncode in remote.TIMED_OUT:
            raise _StepError(HostStatus.TIMEOUT, "collector stopped by the host's time limit")
        if result.returncode == 127 and not result.stdout:
            raise _StepError(HostStatus.NO_PYTHON3, f"cannot start {self.python}")
        if len(result.stdout) > self.settings.max_stdout:
            limit = self.settings.max_stdout
            raise _StepError(HostStatus.BAD_OUTPUT, f"collector printed more than {limit} bytes")
        _check(result, "collect")
        named = remote.parse_bundle_line(result.stdout)
        if named is None:
            raise _StepError(HostStatus.BAD_OUTPUT, "collector output names no bundle (garbage)")
        if named[2] > self.settings.max_bundle:
            limit = self.settings.max_bundle
            raise _StepError(HostStatus.BAD_OUTPUT, f"bundle of {named[2]} bytes is over {limit}")
        return named

    def fetch(self, temp: str, name: str, sha256: str, size: int) -> Path:
        """Fetch the bundle and check it is what the agent wrote; with ``encrypt_to``, seal it
        at once (:meth:`seal`)."""
        self.local_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.local_dir / (name + AGE_SUFFIX if self.settings.encrypt_to else name)
        if final.exists():
            raise _StepError(HostStatus.BAD_OUTPUT, f"{final} already exists: not overwritten")
        if not self.settings.encrypt_to:
            return self._fetch(temp, name, sha256, size, final)
        # The plaintext lives here only until it is encrypted: a hidden name, owner-only.
        plain = self.local_dir / f".{name}.plain"
        try:
            self._fetch(temp, name, sha256, size, plain)
            return self.seal(plain, final)
        finally:
            plain.unlink(missing_ok=True)

    def seal(self, plain: Path, final: Path) -> Path:
        """Encrypt ``plain`` to the recipients into ``final`` (via ``.partial``)."""
        partial = final.with_name(final.name + ".partial")
        try:
            encrypt_file(plain, partial, self.settings.encrypt_to)
            partial.chmod(0o600)
            partial.replace(final)
        except (EncryptionError, OSError) as exc:
            raise _StepError(HostStatus.COLLECTOR_FAILED, f"encrypting the bundle: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        return final

    def _fetch(self, temp: str, name: str, sha256: str, size: int, local: Path) -> Path:
        if local.exists():
            raise _StepError(HostStatus.BAD_OUTPUT, f"{local} already exists: not overwritten")
        limit = min(size, self.settings.max_bundle)
        remote_path = f"{temp}/{remote.OUT_NAME}/{name}"
        result = self.transport.fetch(remote_path, local, limit, self.left())
        try:
            _check(result, "fetch")
        except _StepError:
            local.unlink(missing_ok=True)
            raise
        data_size = local.stat().st_size
        if data_size != size or data_size > self.settings.max_bundle:
            local.unlink()
            raise _StepError(HostStatus.BAD_OUTPUT, f"fetched {data_size} bytes, agent said {size}")
        if file_sha256(local) != sha256:
            local.unlink()
            raise _StepError(
                HostStatus.BAD_OUTPUT, "bundle hash differs from what the agent printed"
            )
        return local

    def cleanup(self, temp: str) -> bool:
        # Clean-up gets its own time, even when the host's budget is spent.
        command = remote.cleanup_command(temp, self.settings.become)
        budget = max(30.0, self.settings.ssh.connect_timeout * 2.0)
        result = self.transport.run(command, budget, interruptible=False)
        return result.returncode == 0

    def analyse(self, archive: Path) -> Tuple[Optional[Path], str]:
        """Judge the bundle once (the host's findings merged with the controller's YARA, or
        analysed here in full): its analysis directory and how it was judged; its fleet view
        goes into the cache. An encrypted bundle is judged only with an identity, and nothing
        of it is written in clear (no analysis directory, no cached view)."""
        sealed = bool(self.settings.encrypt_to)
        if sealed and self.settings.identity is None:
            return None, "encrypted on arrival, not analysed (no --identity)"
        try:
            outcome = run_analyze(
                archive,
                self.settings.signatures,
                output=None if sealed else self.local_dir,
                packs=self.packs,
                threshold=self.settings.threshold,
                host_findings=True,
                identity=self.settings.identity if sealed else None,
            )
            if self.packs is not None:
                threshold = self.settings.threshold
                view = view_of(outcome.result, outcome.manifest, threshold, outcome.how)
                store_view(cache_path(archive, packs_digest(self.packs), threshold), view)
        except BundleError as exc:
            raise _StepError(HostStatus.BAD_OUTPUT, f"bundle rejected: {exc}") from exc
        if sealed:
            return None, f"encrypted on arrival; {outcome.how}"
        return outcome.written, outcome.how


def sweep_host(host: Host, settings: SweepSettings, packs: Optional[PackSet] = None) -> HostResult:
    """Sweep one host; every failure becomes a status, never an exception (packs aside).

    ``packs`` are the local packs, loaded once for the whole sweep (else loaded for this host).

    Raises:
        PackError: the local packs are invalid (the same for every host: the sweep stops).
    """
    started = time.monotonic()
    begun = now_text()
    job = _HostSweep(host, settings, packs)
    temp: Optional[str] = None
    cleaned = False
    relative = settings.output.resolve()
    try:
        try:
            job.connect()
            temp = job.prepare()
            try:
                name, sha256, size = job.collect(temp)
                archive = job.fetch(temp, name, sha256, size)
            finally:
                cleaned = job.cleanup(temp)
        finally:
            job.transport.close()
        analysis, how = job.analyse(archive)
    except _StepError as failed:
        return HostResult(
            host.name,
            host.address,
            failed.status,
            failed.detail,
            seconds=time.monotonic() - started,
            cleaned=cleaned or temp is None,
            started=begun,
            finished=now_text(),
        )
    return HostResult(
        host.name,
        host.address,
        HostStatus.OK,
        " ".join(filter(None, (f"collected; {how}", job.note, job.retry_note()))),
        bundle=archive.resolve().relative_to(relative).as_posix(),
        sha256=file_sha256(archive) if settings.encrypt_to else sha256,
        analysis=None if analysis is None else analysis.resolve().relative_to(relative).as_posix(),
        seconds=time.monotonic() - started,
        cleaned=cleaned,
        started=begun,
        finished=now_text(),
    )


Callback = Callable[[Host, Optional[HostResult]], None]
"""Told when a host starts (``None``) and when it ends (its result)."""


def _attempt(host: Host, result: HostResult, sweep_id: str, agent_sha256: str) -> Attempt:
    return Attempt(
        host=host.name,
        address=host.address,
        status=result.status.value,
        detail=result.detail,
        user=host.user,
        port=host.port,
        root=host.root,
        python=host.python,
        bundle=result.bundle,
        sha256=result.sha256,
        analysis=result.analysis,
        started=result.started,
        finished=result.finished,
        seconds=round(result.seconds, 3),
        cleaned=result.cleaned,
        sweep=sweep_id,
        agent_sha256=agent_sha256,
    )


def run_sweep(
    hosts: Sequence[Host], settings: SweepSettings, on_event: Optional[Callback] = None
) -> Tuple[HostResult, ...]:
    """Sweep ``hosts`` with bounded concurrency, journalling each host as it ends.

    Results come in host order (hosts not begun before ``settings.stop`` was set are left out);
    ``sweep.json`` is rewritten from the journal at the end.

    Raises:
        OutputError: the output directory or a journal cannot be written.
        PackError: the local packs are invalid.
    """
    started = datetime.now(timezone.utc)
    sweep_id = started.strftime("%Y%m%dT%H%M%S.%fZ")
    refuse_bundle_dir(settings.output, "a sweep")
    try:
        settings.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {settings.output}: {exc}") from exc
    _remove_plaintext_left(settings.output)
    # Once for all hosts, before any is contacted: invalid packs stop the sweep at once, and
    # the YARA rules are compiled once (compiled rules are shared safely between threads).
    packs = load_packs(settings.signatures)
    agent_sha256 = file_sha256(settings.agent)
    scratch = ExitStack()
    if settings.multiplex and settings.ssh.control_dir is None:
        # Short and private: a socket path must stay under ~100 bytes, and only we may use it.
        control = scratch.enter_context(scratch_dir("ss-ssh-"))
        settings = replace(settings, ssh=replace(settings.ssh, control_dir=control))

    def one(host: Host) -> Optional[HostResult]:
        if settings.stop is not None and settings.stop.is_set():
            return None  # not begun: no attempt is journalled (--resume sweeps it)
        if on_event is not None:
            on_event(host, None)
        result = sweep_host(host, settings, packs)
        append(settings.output, _attempt(host, result, sweep_id, agent_sha256))
        if on_event is not None:
            on_event(host, result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.parallel)) as pool:
            results = tuple(r for r in pool.map(one, hosts) if r is not None)
    finally:
        scratch.close()
        write_sweep_file(settings.output, started, agent_sha256, settings.parallel)
    return results


def _remove_plaintext_left(output: Path) -> None:
    """Remove what a sweep killed outright (SIGKILL, power loss) left while encrypting a bundle:
    the fetched plaintext and a partly written age file."""
    for pattern in (".sitesweep-*.tar.gz.plain", f"sitesweep-*.tar.gz{AGE_SUFFIX}.partial"):
        for left in output.glob(f"*/{pattern}"):
            left.unlink(missing_ok=True)


def write_sweep_file(output: Path, started: datetime, agent_sha256: str, parallel: int) -> Path:
    """Write ``sweep.json``: every journalled host's chosen attempt (a summary of the journal)."""
    picked = latest((a, base) for a, base in read_attempts(output) if base == output)
    doc = {
        "started": started.isoformat().replace("+00:00", "Z"),
        "finished": now_text(),
        "agent_sha256": agent_sha256,
        "parallel": parallel,
        "journal": JOURNAL_DIR,
        "hosts": [picked[name][0].doc() for name in sorted(picked)],
    }
    path = output / SWEEP_FILE
    try:
        write_new(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc
    return path


__all__ = [
    "SWEEP_FILE",
    "HostResult",
    "HostStatus",
    "SweepSettings",
    "run_sweep",
    "sweep_host",
]
