"""The command line: a thin click layer over the library; all exit codes are mapped here."""

from __future__ import annotations

import errno
import logging
import sys
from typing import TYPE_CHECKING, Optional, Sequence

import click

from sitesweep.cli.commands import COMMANDS
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.lazy import LazyGroup
from sitesweep.cli.version import print_version
from sitesweep.errors import SitesweepError
from sitesweep.textsafe import printable

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger(__name__)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
    from sitesweep.cli.console import setup_logging  # rich: imported once a command runs

    setup_logging(verbose)


def _stderr() -> Console:
    """The rich console on stderr, imported when an error is printed (``--version`` never is)."""
    from sitesweep.cli.console import stderr

    return stderr


def _internal_error(exc: BaseException) -> int:
    """An unexpected exception: the traceback to the log, one line to stderr, exit 2 (never 1)."""
    log.debug("internal error", exc_info=exc)
    text = f"{type(exc).__name__}: {exc}".encode("ascii", "backslashreplace").decode("ascii")
    _stderr().print(
        f"internal error (a bug in sitesweep, not a finding; -vv shows where): {text[:500]}",
        style="bold red",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.ERROR


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
        _stderr().print("interrupted")
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        _stderr().print("interrupted")
        return ExitCode.INTERRUPTED
    except SitesweepError as exc:
        _stderr().print(
            f"error: {printable(exc)}",
            style="bold red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return ExitCode.ERROR
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return ExitCode.ERROR
        return _internal_error(exc)
    except Exception as exc:  # noqa: BLE001 - a crash is never "indicators found" (exit 1)
        return _internal_error(exc)
    return int(rv) if isinstance(rv, int) else ExitCode.OK
