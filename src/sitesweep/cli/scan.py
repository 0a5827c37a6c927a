"""``sitesweep scan``: collect, analyse and bundle in one go."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional, Tuple

import click

from sitesweep.cli.console import RichProgress
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.gentle import apply_priorities
from sitesweep.cli.params import (
    CustodyArgs,
    GentleArgs,
    build_scan_options,
    builtin_packs_option,
    custody_options,
    evidence_option,
    fail_on_option,
    gentle_options,
    kubernetes_option,
    scan_target_options,
    signatures_option,
    yara_limit_options,
)
from sitesweep.cli.render import chosen_format, emit_result, format_option
from sitesweep.model import Severity
from sitesweep.outcome import Verdict
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
@format_option
@evidence_option
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
    output_format: str,
    as_json: bool,
    verify_record: bool,
    custody: CustodyArgs,
    gentle: GentleArgs,
    kubernetes: bool = False,
    builtin_packs: bool = True,
    evidence: str = "policy",
) -> int:
    """Scan this machine (or --root DIR) and write a triage bundle."""
    fmt = chosen_format(output_format, as_json)
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
        evidence=evidence,
    )
    opts = replace(opts, threshold=Severity(fail_on))  # the bundle tells the same verdict
    apply_priorities(gentle)
    if opts.image is not None:  # each image its own host, bundle and verdict
        from sitesweep.cli.images import refuse_sarif, scan_each_image, single_outcome, tell_images

        refuse_sarif(fmt, several=bool(opts.images))
        scans = scan_each_image(opts, Severity(fail_on), match=True)
        one = single_outcome(scans)
        if one is None:
            return tell_images(scans, Severity(fail_on), fmt)
        outcome = one
    else:
        with RichProgress() as progress:
            outcome = run_scan(opts, progress)
    bundle = outcome.bundle.ref() if outcome.bundle is not None else None
    told = emit_result(outcome.result, Severity(fail_on), bundle, fmt)
    return ExitCode.FINDINGS if told.verdict is Verdict.COMPROMISED else ExitCode.OK
