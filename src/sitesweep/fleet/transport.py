"""Run commands on a target, push files with ``scp`` and stream them back over ``ssh``.

This is the only module of sitesweep that starts programs (``ssh`` and ``scp``), hence the
per-file exemption from the ``subprocess`` ban in ``pyproject.toml``: they are the responder's own
tools on the responder's machine, never anything found on a scanned host. ``BatchMode=yes`` means
no prompt ever blocks a sweep; the user's ``~/.ssh/config`` (or ``--ssh-config``), agent,
``ProxyJump`` and known_hosts policy apply as set. Output is read in bounded amounts.
"""

from __future__ import annotations

import hashlib
import os
import random
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, List, Optional, Sequence, Tuple

from sitesweep.fleet.hosts import Host

SSH_FAILED = 255
"""ssh's exit code for its own failures (connection, authentication)."""

_AUTH_MARKERS = (
    "permission denied",
    "too many authentication failures",
    "no more authentication methods",
    "host key verification failed",
    "remote host identification has changed",
)
_UNREACHABLE_MARKERS = (
    "connection refused",
    "connection timed out",
    "connection closed",
    "could not resolve",
    "no route to host",
    "network is unreachable",
    "connection reset",
)
_TRANSIENT_MARKERS = (
    "kex_exchange_identification",
    "ssh_exchange_identification",
    "banner exchange",
    "connection reset by peer",
    "connection closed by remote host",
)
"""What ssh says when sshd drops a connection before the session (``MaxStartups``, a busy
bastion): worth another try after a pause."""
_BECOME_MARKERS = (
    "sudo: a password is required",
    "sudo: a terminal is required",
    "is not in the sudoers file",
    "may not run sudo",
    "sudo: not found",
    "sudo: command not found",
    "sudo: unable to",
)
_STDERR_LIMIT = 64 << 10


def transient_failure(result: CommandResult) -> bool:
    """Whether ssh (exit 255) or scp (exit 1) failed before the session in a way a later try
    may not (see the markers)."""
    if result.returncode not in (1, SSH_FAILED) or result.stdout or result.interrupted:
        return False
    text = result.stderr.lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def become_failure(stderr: str) -> bool:
    """Whether ``stderr`` says ``sudo -n`` could not run the command (no sudo, password...)."""
    text = stderr.lower()
    return any(marker in text for marker in _BECOME_MARKERS)


@dataclass(frozen=True)
class SshSettings:
    """How to reach hosts.

    Attributes:
        config: an ssh config file passed as ``-F`` (else the user's own).
        options: extra ``-o`` options, in order (``--ssh-option``).
        connect_timeout: seconds for the TCP connection and the SSH handshake.
        control_dir: a private directory for the multiplexing sockets: every step to a host then
            shares one SSH connection (one login per host); ``None`` connects for each step.
        retries: attempts after a transient connection failure (sshd's ``MaxStartups`` drop,
            a reset during the handshake), with exponential backoff.
    """

    config: Optional[Path] = None
    options: Tuple[str, ...] = ()
    connect_timeout: int = 10
    control_dir: Optional[Path] = None
    retries: int = 3


@dataclass(frozen=True)
class CommandResult:
    """What one ssh or scp call did.

    Attributes:
        returncode: the exit code (-1 when it was killed for its time-out).
        stdout: at most ``limit`` + 1 bytes of standard output (more means it was too long).
        stderr: the start of standard error, decoded.
        timed_out: whether the call was killed for taking too long.
        interrupted: whether the call was killed because the sweep is stopping.
    """

    returncode: int
    stdout: bytes
    stderr: str
    timed_out: bool = False
    interrupted: bool = False


def _common(settings: SshSettings, host: Host, master: bool = False) -> List[str]:
    args = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={settings.connect_timeout}"]
    if settings.config is not None:
        args += ["-F", str(settings.config)]
    for option in settings.options:
        args += ["-o", option]
    if host.user:
        args += ["-o", f"User={host.user}"]
    if settings.control_dir is not None:
        # One socket per inventory host (not per address): two names for one sshd never share
        # a master that the other one's ``-O exit`` would end.
        name = hashlib.sha256(host.name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        args += ["-o", f"ControlPath={settings.control_dir}/{name}"]
        args += ["-o", "ControlMaster=yes", "-o", "ControlPersist=600"] if master else []
        args += [] if master else ["-o", "ControlMaster=no"]
    return args


def ssh_argv(settings: SshSettings, host: Host, command: str) -> List[str]:
    """The ``ssh`` command line that runs ``command`` (a POSIX shell line) on ``host``."""
    port = ["-p", str(host.port)] if host.port else []
    return ["ssh", *_common(settings, host), *port, "-T", "--", host.address, command]


def _remote(host: Host, path: str) -> str:
    address = f"[{host.address}]" if ":" in host.address else host.address
    return f"{address}:{path}"


def scp_argv(settings: SshSettings, host: Host, source: str, target: str) -> List[str]:
    """The ``scp`` command line; exactly one of ``source``/``target`` is ``remote:path``."""
    port = ["-P", str(host.port)] if host.port else []
    return ["scp", "-q", *_common(settings, host), *port, "--", source, target]


def _drain(stream: IO[bytes], limit: int, into: List[bytes]) -> None:
    """Keep the first ``limit`` + 1 bytes of ``stream``, discard the rest until it closes."""
    kept = 0
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        if kept <= limit:
            into.append(chunk[: limit + 1 - kept])
            kept += len(into[-1])


def _drain_to_file(stream: IO[bytes], limit: int, target: Path, sizes: List[int]) -> None:
    """Write the first ``limit`` + 1 bytes of ``stream`` to ``target``, discard the rest."""
    kept = 0
    with target.open("xb") as out:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            if kept <= limit:
                piece = chunk[: limit + 1 - kept]
                out.write(piece)
                kept += len(piece)
    sizes.append(kept)


def run_detached(argv: Sequence[str], timeout: float) -> CommandResult:
    """Run ``argv`` (``ssh -f`` that leaves a master behind) with no pipe the master could keep.

    Standard output goes nowhere and standard error to an unnamed file read once ``argv`` has
    returned, so a process it leaves in the background holds no pipe of ours open.
    """
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=timeout,
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            err.seek(0)
            return CommandResult(-1, b"", err.read(_STDERR_LIMIT).decode("utf-8", "replace"), True)
        except OSError as exc:
            return CommandResult(SSH_FAILED, b"", f"cannot run {argv[0]}: {exc}")
        err.seek(0)
        return CommandResult(
            proc.returncode, b"", err.read(_STDERR_LIMIT).decode("utf-8", "replace")
        )


def run_bounded(
    argv: Sequence[str],
    timeout: float,
    stdout_limit: int,
    stdout_file: Optional[Path] = None,
    stop: Optional[threading.Event] = None,
) -> CommandResult:
    """Run ``argv`` (ssh or scp) with a time-out, keeping bounded output.

    With ``stdout_file``, standard output goes to that new file (at most ``stdout_limit`` + 1
    bytes) instead of memory. On time-out, or as soon as ``stop`` is set, the whole process
    group is killed.
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:  # no ssh/scp here: every host is unreachable, said once per host
        return CommandResult(SSH_FAILED, b"", f"cannot run {argv[0]}: {exc}")
    out: List[bytes] = []
    err: List[bytes] = []
    assert proc.stdout is not None  # noqa: S101 - PIPE given
    assert proc.stderr is not None  # noqa: S101 - PIPE given
    sizes: List[int] = []
    if stdout_file is None:
        out_reader = threading.Thread(target=_drain, args=(proc.stdout, stdout_limit, out))
    else:
        out_reader = threading.Thread(
            target=_drain_to_file, args=(proc.stdout, stdout_limit, stdout_file, sizes)
        )
    readers = [
        out_reader,
        threading.Thread(target=_drain, args=(proc.stderr, _STDERR_LIMIT, err), daemon=True),
    ]
    out_reader.daemon = True
    for reader in readers:
        reader.start()
    timed_out = interrupted = False
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            interrupted = stop is not None and stop.is_set()
            timed_out = time.monotonic() >= deadline
            if interrupted or timed_out:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
    # A killed multiplexing client has handed its pipes to the master, which keeps them open
    # until the remote command ends: a reader still blocked then is left to finish by itself
    # (closing its stream under it would wait for its lock).
    for reader in readers:
        reader.join(timeout=0.5 if timed_out or interrupted else 5)
    for stream, reader in ((proc.stdout, readers[0]), (proc.stderr, readers[1])):
        if not reader.is_alive():
            stream.close()
    stderr = b"".join(err).decode("utf-8", "replace")
    code = -1 if timed_out or interrupted else proc.returncode
    return CommandResult(code, b"".join(out), stderr, timed_out and not interrupted, interrupted)


class Transport:
    """ssh and scp to one host with fixed settings."""

    def __init__(
        self, settings: SshSettings, host: Host, stop: Optional[threading.Event] = None
    ) -> None:
        """Remember how to reach ``host``; ``stop`` interrupts every call but clean-up's."""
        self.settings = settings
        self.host = host
        self.stop = stop
        self.retried = 0

    def _retrying(
        self,
        once: Callable[[float, Optional[threading.Event]], CommandResult],
        timeout: float,
        interruptible: bool = True,
        stdout_file: Optional[Path] = None,
    ) -> CommandResult:
        """Call ``once(seconds left, stop)``; after a transient connection failure, pause with
        exponential backoff and call it again (at most ``retries`` more times, within time)."""
        deadline = time.monotonic() + timeout
        stop = self.stop if interruptible else None
        attempt = 0
        while True:
            result = once(max(0.0, deadline - time.monotonic()), stop)
            pause = min(8.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
            if (
                attempt >= self.settings.retries
                or not transient_failure(result)
                or deadline - time.monotonic() <= pause + 1.0
                or (stop is not None and stop.wait(pause))
            ):
                return result
            attempt += 1
            self.retried += 1
            if stdout_file is not None:
                stdout_file.unlink(missing_ok=True)

    def _bounded(
        self,
        argv: Sequence[str],
        timeout: float,
        stdout_limit: int,
        stdout_file: Optional[Path] = None,
        interruptible: bool = True,
    ) -> CommandResult:
        def once(left: float, stop: Optional[threading.Event]) -> CommandResult:
            return run_bounded(argv, left, stdout_limit, stdout_file, stop)

        return self._retrying(once, timeout, interruptible, stdout_file)

    def run(
        self,
        command: str,
        timeout: float,
        stdout_limit: int = 64 << 10,
        interruptible: bool = True,
    ) -> CommandResult:
        """Run a shell line on the host (``interruptible=False`` for the clean-up)."""
        argv = ssh_argv(self.settings, self.host, command)
        return self._bounded(argv, timeout, stdout_limit, interruptible=interruptible)

    def push(self, local: Path, remote_path: str, timeout: float) -> CommandResult:
        """Copy a local file to ``remote_path`` on the host."""
        argv = scp_argv(self.settings, self.host, str(local), _remote(self.host, remote_path))
        return self._bounded(argv, timeout, 4096)

    def open(self, timeout: float) -> CommandResult:
        """Open the host's shared connection (authenticate once; later steps reuse it).

        Without multiplexing this does nothing and succeeds. When it fails, the result says why
        (the same classification as any step).
        """
        if self.settings.control_dir is None:
            return CommandResult(0, b"", "")
        port = ["-p", str(self.host.port)] if self.host.port else []
        common = _common(self.settings, self.host, master=True)
        argv = ["ssh", *common, *port, "-f", "-N", "-T", "--", self.host.address]
        return self._retrying(lambda left, _: run_detached(argv, max(1.0, left)), timeout)

    def close(self) -> None:
        """End the host's shared connection, if there is one (``ssh -O exit``)."""
        if self.settings.control_dir is None:
            return
        argv = ["ssh", *_common(self.settings, self.host), "-O", "exit", "--", self.host.address]
        if self.host.port:
            argv[1:1] = ["-p", str(self.host.port)]
        run_bounded(argv, 10.0, 4096)

    def fetch(self, remote_path: str, local: Path, limit: int, timeout: float) -> CommandResult:
        """Copy ``remote_path`` from the host into the new local file ``local``.

        Streams it over ssh (``cat``) and stops keeping bytes past ``limit`` + 1, so a host
        cannot fill the responder's disk: a file over ``limit`` is simply longer than allowed.
        """
        argv = ssh_argv(self.settings, self.host, f"cat -- {shlex.quote(remote_path)}")
        return self._bounded(argv, timeout, limit, stdout_file=local)


def connection_failure(result: CommandResult) -> Optional[str]:
    """Classify an ssh/scp failure of the connection itself: ``auth_failed`` or ``unreachable``.

    ssh exits 255 for its own failures; scp exits 1 and passes ssh's message on. Returns ``None``
    when the command reached the host (its own exit code is then meaningful).
    """
    if result.returncode in (0, -1):
        return None
    if become_failure(result.stderr):
        return None
    text = result.stderr.lower()
    if any(marker in text for marker in _AUTH_MARKERS):
        return "auth_failed"
    if result.returncode == SSH_FAILED or any(m in text for m in _UNREACHABLE_MARKERS):
        return "unreachable"
    return None
