"""``sitesweep report``: one fleet summary from any set of bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from sitesweep.bundle.layout import MANIFEST
from sitesweep.cli.collect import index_spec
from sitesweep.cli.console import stderr
from sitesweep.cli.fleet_view import emit_fleet, exit_code, fleet_line
from sitesweep.cli.params import (
    fail_on_option,
    identity_option,
    index_options,
    signatures_option,
)
from sitesweep.cli.render import FormatUnavailableError, format_option
from sitesweep.fleet.output import write_fleet
from sitesweep.fleet.summary import summarize
from sitesweep.model import Severity
from sitesweep.textsafe import printable


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where fleet.json and fleet.html go (default: the one directory given, else here).",
)
@signatures_option
@fail_on_option
@format_option
@index_options
@identity_option
def report(
    paths: Tuple[Path, ...],
    output: Optional[Path],
    identity: Optional[Path],
    signatures: Tuple[Path, ...],
    fail_on: str,
    output_format: str = "text",
    as_json: bool = False,
    index_url: Optional[str] = None,
    index_snapshot: Optional[Path] = None,
    index_cache: Optional[Path] = None,
    index_interval: float = 0.2,
) -> int:
    """Summarise bundles (files or directories, e.g. a sweep's output) into one fleet report.

    Results go to stdout (--format text: the fleet table on a terminal, one record per line
    into a pipe; json: fleet.json's document; jsonl and csv: one row per host); fleet.json and
    fleet.html are written as well. Encrypted bundles (.tar.gz.age) are opened with --identity;
    without it their hosts are unchecked (status encrypted), never clean.
    """
    fmt = "json" if as_json else output_format
    if fmt == "sarif":
        raise FormatUnavailableError(
            "--format sarif describes one host's findings: use it on scan or analyze"
        )
    if output is None:  # the one directory given, unless it is a bundle (never write into one)
        one = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
        output = one if one is not None and not (one / MANIFEST).exists() else Path()
    index = index_spec(index_url, index_snapshot, index_cache, output, index_interval)
    summary = summarize(paths, signatures, Severity(fail_on), index=index, identity=identity)
    emit_fleet(summary, fmt)
    stderr.print(printable(fleet_line(summary)), markup=False, highlight=False, soft_wrap=True)
    json_path, html_path = write_fleet(summary, output)
    stderr.print(printable(f"Fleet report: {json_path}  {html_path}"), markup=False, soft_wrap=True)
    return exit_code(summary)
