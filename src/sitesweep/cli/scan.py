"""``sitesweep scan``: collect, analyse and bundle in one go."""

from __future__ import annotations

import json
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
    kubernetes_option,
    scan_target_options,
    signatures_option,
    yara_limit_options,
)
from sitesweep.cli.render import render_result
from sitesweep.model import Severity
from sitesweep.packs.yararules import YaraLimits
from sitesweep.pipeline import run_scan


@click.command()
@scan_target_options
@custody_options
@gentle_options
@signatures_option
@builtin_packs_option
@fail_on_option
@yara_limit_options
@kubernetes_option
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON on stdout.")
@click.option(
    "--verify-record",
    is_flag=True,
    help="Verify every distribution's RECORD hashes (those named by a pack always are).",
)
def scan(
    root: Optional[Path],
    output: Path,
    signatures: Tuple[Path, ...],
    fail_on: str,
    yara_max_size: int,
    yara_timeout: int,
    filesystems: str,
    exclude: Tuple[str, ...],
    as_json: bool,
    verify_record: bool,
    custody: CustodyArgs,
    gentle: GentleArgs,
    kubernetes: bool = False,
    builtin_packs: bool = True,
) -> int:
    """Scan this machine (or --root DIR) and write a triage bundle."""
    limits = YaraLimits(yara_max_size << 20, yara_timeout)
    opts = build_scan_options(
        root,
        output,
        signatures,
        filesystems,
        exclude,
        custody,
        gentle,
        kubernetes,
        verify_record=verify_record,
        yara_limits=limits,
        builtin_packs=builtin_packs,
    )
    apply_priorities(gentle)
    with RichProgress() as progress:
        outcome = run_scan(opts, progress)
    threshold = Severity(fail_on)
    render_result(stderr, outcome.result, threshold, outcome.bundle)
    if as_json:
        click.echo(json.dumps(findings_doc(outcome.result), indent=2, sort_keys=True))
    return ExitCode.FINDINGS if outcome.result.at_least(threshold) else ExitCode.OK
