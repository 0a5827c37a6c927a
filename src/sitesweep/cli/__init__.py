"""The command line: a thin click layer over the library; all exit codes are mapped here."""

from __future__ import annotations

import errno
import logging
import sys
from typing import Optional, Sequence

import click

from sitesweep.cli.agent import build_agent
from sitesweep.cli.collect import analyze, collect
from sitesweep.cli.console import setup_logging, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.report import report
from sitesweep.cli.scan import scan
from sitesweep.cli.selfcheck import print_version, self_check
from sitesweep.cli.signatures import signatures
from sitesweep.cli.sweep import sweep
from sitesweep.cli.verify import verify
from sitesweep.errors import SitesweepError

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=print_version,
    help="Show the version, the tool's own hash and the signature packs loaded, and exit.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Find the traces of a compromised Python library on a host or a mounted image."""
    setup_logging(verbose)


cli.add_command(scan)
cli.add_command(signatures)
cli.add_command(collect)
cli.add_command(analyze)
cli.add_command(verify)
cli.add_command(build_agent)
cli.add_command(sweep)
cli.add_command(report)
cli.add_command(self_check)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and map every outcome to an :class:`ExitCode`."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="sitesweep", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return ExitCode.ERROR
    except click.Abort:
        stderr.print("interrupted")
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        stderr.print("interrupted")
        return ExitCode.INTERRUPTED
    except SitesweepError as exc:
        stderr.print(
            f"error: {exc}", style="bold red", markup=False, highlight=False, soft_wrap=True
        )
        return ExitCode.ERROR
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return ExitCode.ERROR
        raise
    return int(rv) if isinstance(rv, int) else ExitCode.OK
