"""``sitesweep collect`` and ``sitesweep analyze``: observe on the host, judge elsewhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Tuple

import click

from sitesweep.bundle.serialize import findings_doc
from sitesweep.cli.console import RichProgress, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.gentle import apply_priorities
from sitesweep.cli.params import (
    CustodyArgs,
    GentleArgs,
    build_scan_options,
    builtin_packs_option,
    custody_options,
    fail_on_option,
    gentle_options,
    identity_option,
    kubernetes_option,
    scan_target_options,
    signatures_option,
)
from sitesweep.cli.render import render_result
from sitesweep.model import Severity
from sitesweep.pipeline import run_analyze, run_collect


@click.command()
@scan_target_options
@custody_options
@gentle_options
@signatures_option
@builtin_packs_option
@kubernetes_option
def collect(
    root: Optional[Path],
    output: Path,
    signatures: Tuple[Path, ...],
    filesystems: str,
    exclude: Tuple[str, ...],
    custody: CustodyArgs,
    gentle: GentleArgs,
    kubernetes: bool = False,
    builtin_packs: bool = True,
) -> int:
    """Collect observations into a bundle without matching them (for analysis elsewhere)."""
    opts = build_scan_options(
        root,
        output,
        signatures,
        filesystems,
        exclude,
        custody,
        gentle,
        kubernetes,
        builtin_packs=builtin_packs,
    )
    apply_priorities(gentle)
    with RichProgress() as progress:
        outcome = run_collect(opts, progress)
    assert outcome.bundle is not None  # noqa: S101 - output is always set here
    stderr.print(f"Collected {len(outcome.result.inventory.environments)} environments into")
    where = outcome.bundle.archive if outcome.bundle.encrypted else outcome.bundle.directory
    stderr.print(f"  {where}", markup=False, soft_wrap=True)
    return ExitCode.OK


@click.command()
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the analysis (findings, coverage, report) into a new directory here.",
)
@signatures_option
@builtin_packs_option
@fail_on_option
@identity_option
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON on stdout.")
def analyze(
    bundle: Path,
    output: Optional[Path],
    signatures: Tuple[Path, ...],
    fail_on: str,
    identity: Optional[Path],
    as_json: bool,
    builtin_packs: bool = True,
) -> int:
    """Match the current signature packs against a bundle (directory or .tar.gz)."""
    outcome = run_analyze(
        bundle,
        signatures,
        builtin_packs=builtin_packs,
        output=output,
        argv=tuple(sys.argv),
        identity=identity,
    )
    threshold = Severity(fail_on)
    render_result(stderr, outcome.result, threshold, None)
    if outcome.written is not None:
        stderr.print(f"Analysis: {outcome.written}", markup=False, soft_wrap=True)
    if as_json:
        click.echo(json.dumps(findings_doc(outcome.result), indent=2, sort_keys=True))
    return ExitCode.FINDINGS if outcome.result.at_least(threshold) else ExitCode.OK
