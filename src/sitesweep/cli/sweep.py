"""``sitesweep sweep``: collect from many hosts over SSH, analyse locally, one fleet report."""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Iterator, List, Optional, Tuple

import click

from sitesweep.cli.collect import index_spec
from sitesweep.cli.console import stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.fleet_view import SweepProgress, exit_code, render_fleet
from sitesweep.cli.params import (
    CustodyArgs,
    GentleArgs,
    custody_options,
    fail_on_option,
    gentle_options,
    identity_option,
    index_options,
    signatures_option,
)
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.fleet.agent_build import build_agent
from sitesweep.fleet.hosts import Host, HostListError, parse_host_spec, read_host_file, unique_hosts
from sitesweep.fleet.inventory_parse import read_inventory
from sitesweep.fleet.journal import hosts_with_good_bundle, latest, read_attempts
from sitesweep.fleet.output import write_fleet
from sitesweep.fleet.summary import summarize
from sitesweep.fleet.sweep import SweepSettings, run_sweep
from sitesweep.fleet.transport import SshSettings
from sitesweep.fleet.views import file_sha256
from sitesweep.model import Severity
from sitesweep.outputs import refuse_bundle_dir
from sitesweep.textsafe import printable

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _journalled_hosts(output: Path) -> List[Host]:
    """The hosts of earlier sweeps into ``output``, as their latest attempt reached them."""
    picked = latest(read_attempts(output)) if output.is_dir() else {}
    return [
        Host(a.host, a.address, a.user, a.port, a.root, a.python or "python3")
        for name, (a, _) in sorted(picked.items())
    ]


def _hosts(
    hosts_file: Optional[Path],
    inventory: Optional[Path],
    limit: Tuple[str, ...],
    specs: Tuple[str, ...],
    root: Optional[str],
    retry_from: Optional[Path] = None,
) -> Tuple[Host, ...]:
    found: List[Host] = []
    if hosts_file is not None:
        found.extend(read_host_file(hosts_file))
    if inventory is not None:
        found.extend(read_inventory(inventory, limit))
    found.extend(parse_host_spec(spec) for spec in specs)
    if not found and retry_from is not None:
        found.extend(_journalled_hosts(retry_from))
    if not found:
        raise HostListError("no hosts: give --hosts-file, --inventory or --host")
    if root:
        found = [h if h.root else replace(h, root=root) for h in found]
    return unique_hosts(tuple(found))


@click.command()
@click.option("--hosts-file", type=_FILE, help="One [user@]host[:port] per line.")
@click.option("-i", "--inventory", type=_FILE, help="An Ansible inventory (INI or YAML).")
@click.option(
    "--root",
    help="Scan this directory on every host that has no sitesweep_root of its own.",
)
@click.option("--limit", multiple=True, help="Only these inventory groups or hosts (repeatable).")
@click.option("--host", "specs", multiple=True, help="[user@]host[:port] (repeatable).")
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the bundles, analyses, sweep.json and the fleet report.",
)
@click.option("--parallel", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option(
    "--timeout",
    type=click.IntRange(10),
    default=900,
    show_default=True,
    help="Seconds per host, connection to clean-up.",
)
@click.option("--connect-timeout", type=click.IntRange(1), default=10, show_default=True)
@click.option("--become", is_flag=True, help="Run the agent with sudo -n (root's view).")
@click.option("--ssh-option", multiple=True, help="Extra ssh -o option, e.g. ProxyJump=bastion.")
@click.option("--ssh-config", type=_FILE, help="ssh config file (ssh -F) instead of ~/.ssh/config.")
@click.option(
    "--remote-tmp",
    default="/tmp",  # noqa: S108 - a directory on the target; mktemp -d makes a private dir there
    show_default=True,
    help="Directory on the targets where a fresh temp dir is made and removed.",
)
@click.option("--max-bundle-size", type=click.IntRange(1), default=2 << 30, show_default=True)
@click.option(
    "--agent",
    "agent_file",
    type=_FILE,
    help="Push this agent (from `sitesweep build-agent`, e.g. one whose SHA-256 is pinned or "
    "allow-listed) instead of building one into OUTPUT/agent.pyz.",
)
@click.option(
    "--multiplex/--no-multiplex",
    default=True,
    show_default=True,
    help="One SSH connection per host for all its steps (ControlMaster, private socket dir).",
)
@click.option(
    "--ssh-retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries, with backoff, of a connection dropped before the session (MaxStartups).",
)
@click.option(
    "--retry-failed",
    "--resume",
    "retry_failed",
    is_flag=True,
    help="Sweep only the hosts that have no good bundle in --output yet (failed, interrupted "
    "or never tried); without a host list, the hosts journalled there.",
)
@click.option("--exclude", multiple=True, help="Host path the agent does not walk (repeatable).")
@click.option(
    "--match-on",
    type=click.Choice(["target", "controller"]),
    default="target",
    show_default=True,
    help="Where the packs are matched: on the target by the agent (this machine verifies the "
    "bundle, takes the host's findings when the agent's packs are its own, and adds its YARA "
    "over the shipped evidence), or all here (the agent only collects).",
)
@gentle_options
@custody_options
@identity_option
@signatures_option
@fail_on_option
@index_options
def sweep(
    root: Optional[str],
    hosts_file: Optional[Path],
    inventory: Optional[Path],
    limit: Tuple[str, ...],
    specs: Tuple[str, ...],
    output: Path,
    parallel: int,
    timeout: int,
    connect_timeout: int,
    become: bool,
    ssh_option: Tuple[str, ...],
    ssh_config: Optional[Path],
    remote_tmp: str,
    max_bundle_size: int,
    agent_file: Optional[Path],
    multiplex: bool,
    ssh_retries: int,
    retry_failed: bool,
    exclude: Tuple[str, ...],
    match_on: str,
    gentle: GentleArgs,
    custody: CustodyArgs,
    identity: Optional[Path],
    signatures: Tuple[Path, ...],
    fail_on: str,
    index_url: Optional[str] = None,
    index_snapshot: Optional[Path] = None,
    index_cache: Optional[Path] = None,
    index_interval: float = 0.2,
) -> int:
    """Sweep hosts over SSH with the agent, analyse the bundles here, write one fleet report.

    Each host's attempt is journalled under OUTPUT/journal as it ends; sweeping into the same
    OUTPUT again adds attempts (``--retry-failed`` re-runs only the hosts without a good bundle)
    and the report counts every host once, with its latest good attempt.

    ``--encrypt-to age1...`` encrypts each bundle here the moment it is fetched and checked (the
    agent is pure Python; age needs pyrage, compiled): only ``.tar.gz.age`` files stay. With
    ``--identity`` each is judged right away (decrypted into a private temporary directory);
    without it those hosts are unchecked (``encrypted``) until ``report --identity KEYFILE``.
    """
    if custody.encrypt_to:
        from sitesweep.bundle.age import parse_recipients

        parse_recipients(custody.encrypt_to)  # pyrage present, keys valid: before any host
    refuse_bundle_dir(output, "a sweep")  # before anything is written there (the agent)
    hosts = _hosts(hosts_file, inventory, limit, specs, root, output if retry_failed else None)
    stop = threading.Event()
    if retry_failed:
        done = set(hosts_with_good_bundle(output)) if output.is_dir() else set()
        skipped = [h for h in hosts if h.name in done]
        hosts = tuple(h for h in hosts if h.name not in done)
        stderr.print(
            f"--retry-failed: {len(hosts)} host(s) to sweep, {len(skipped)} already have a "
            "good bundle",
            markup=False,
        )
    agent = agent_file or output / "agent.pyz"
    if hosts and agent_file is None:
        build_agent(agent)
    if hosts:
        digest = file_sha256(agent)
        stderr.print(printable(f"Agent: {agent}  SHA-256: {digest}"), markup=False, soft_wrap=True)
    settings = SweepSettings(
        output=output,
        agent=agent,
        parallel=parallel,
        timeout=float(timeout),
        become=become,
        ssh=SshSettings(ssh_config, ssh_option, connect_timeout, retries=ssh_retries),
        multiplex=multiplex,
        remote_tmp=remote_tmp,
        max_bundle=max_bundle_size,
        signatures=signatures,
        threshold=Severity(fail_on),
        stop=stop,
        agent_args=agent_arguments(exclude, gentle, custody),
        match_on_target=match_on == "target",
        encrypt_to=custody.encrypt_to,
        identity=identity,
    )
    index = index_spec(index_url, index_snapshot, index_cache, output, index_interval)
    if hosts:
        with SweepProgress(len(hosts)) as progress, _stopped_by_signals(stop):
            run_sweep(hosts, settings, progress.event)
    summary = summarize((output,), signatures, Severity(fail_on), index=index, identity=identity)
    render_fleet(stderr, summary)
    json_path, html_path = write_fleet(summary, output)
    stderr.print(printable(f"Fleet report: {json_path}  {html_path}"), markup=False, soft_wrap=True)
    if stop.is_set():
        stderr.print(
            "Interrupted: the hosts in flight were cleaned up and journalled as interrupted; "
            "run the same command with --resume to sweep the rest.",
            markup=False,
        )
        return ExitCode.INTERRUPTED
    return exit_code(summary)


def agent_arguments(
    exclude: Tuple[str, ...], gentle: GentleArgs, custody: CustodyArgs
) -> Tuple[str, ...]:
    """The agent's own options for what ``sweep`` was told (walk, priority, custody)."""
    args: List[str] = []
    for path in exclude:
        args += ["--exclude", path]
    if not gentle.prune >= DEFAULT_PRUNE:
        args.append("--no-default-prune")
    for name in sorted(gentle.prune - DEFAULT_PRUNE):
        args += ["--prune", name]
    args += ["--io-nice"] if gentle.io_nice else []
    args += ["--cpu-nice"] if gentle.cpu_nice else []
    for flag, value in (
        ("--case-id", custody.case_id),
        ("--examiner", custody.examiner),
        ("--note", custody.note),
    ):
        if value:
            args += [flag, value]
    return tuple(args)


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop`` (the sweep winds down) instead of killing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
