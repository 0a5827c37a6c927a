"""The command line: a thin click layer over the library; all exit codes are mapped here."""

from __future__ import annotations

import errno
import logging
import sys
from typing import Optional, Sequence

import click

from sitesweep import __version__
from sitesweep.cli.collect import analyze, collect
from sitesweep.cli.console import setup_logging, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.scan import scan
from sitesweep.errors import SitesweepError

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sitesweep")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Find the traces of a compromised Python library on a host or a mounted image."""
    setup_logging(verbose)


cli.add_command(scan)
cli.add_command(collect)
cli.add_command(analyze)


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
