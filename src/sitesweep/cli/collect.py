"""``sitesweep collect`` and ``sitesweep analyze``: observe on the host, judge elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple

import click

from sitesweep.cli.console import RichProgress, stderr
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
    identity_option,
    index_options,
    kubernetes_option,
    scan_target_options,
    signatures_option,
)
from sitesweep.cli.render import chosen_format, emit_result, format_option
from sitesweep.model import Severity
from sitesweep.outcome import Verdict
from sitesweep.pipeline import run_analyze, run_collect
from sitesweep.textsafe import printable

if TYPE_CHECKING:
    from sitesweep.intel.index import IndexSource, IndexSpec


@click.command()
@scan_target_options
@custody_options
@gentle_options
@signatures_option
@builtin_packs_option
@kubernetes_option
@evidence_option
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
    evidence: str = "policy",
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
        evidence=evidence,
    )
    apply_priorities(gentle)
    if opts.image is not None:  # each image its own host and bundle
        from sitesweep.cli.images import scan_each_image, single_outcome, tell_collected

        scans = scan_each_image(opts, Severity.HIGH, match=False)
        one = single_outcome(scans)
        if one is None:
            return tell_collected(scans)
        outcome = one
    else:
        with RichProgress() as progress:
            outcome = run_collect(opts, progress)
    assert outcome.bundle is not None  # noqa: S101 - output is always set here
    stderr.print(f"Collected {len(outcome.result.inventory.environments)} environments into")
    where = outcome.bundle.archive if outcome.bundle.encrypted else outcome.bundle.directory
    stderr.print(f"  {printable(where)}", markup=False, soft_wrap=True)
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
@index_options
@click.option(
    "--index-workers", type=click.IntRange(1, 32), default=4, show_default=True,
    help="Questions to the index under way at once.",
)  # fmt: skip
@format_option
def analyze(
    bundle: Path,
    output: Optional[Path],
    signatures: Tuple[Path, ...],
    fail_on: str,
    identity: Optional[Path],
    output_format: str,
    as_json: bool,
    builtin_packs: bool = True,
    index_url: Optional[str] = None,
    index_snapshot: Optional[Path] = None,
    index_cache: Optional[Path] = None,
    index_workers: int = 4,
    index_interval: float = 0.2,
) -> int:
    """Match the current signature packs against a bundle (directory or .tar.gz)."""
    fmt = chosen_format(output_format, as_json)
    index = index_source(index_url, index_snapshot, index_cache, output, index_interval)
    outcome = run_analyze(
        bundle,
        signatures,
        builtin_packs=builtin_packs,
        output=output,
        argv=tuple(sys.argv),
        identity=identity,
        index=index,
        index_workers=index_workers,
        threshold=Severity(fail_on),
    )
    if outcome.written is not None:
        stderr.print(f"Analysis: {printable(outcome.written)}", markup=False, soft_wrap=True)
    told = emit_result(outcome.result, Severity(fail_on), None, fmt)
    return ExitCode.FINDINGS if told.verdict is Verdict.COMPROMISED else ExitCode.OK


def index_source(
    url: Optional[str],
    snapshot: Optional[Path],
    cache: Optional[Path],
    output: Optional[Path],
    interval: float,
) -> Optional[IndexSource]:
    """Build the package index the analysis asks, or ``None`` when none was named."""
    spec = index_spec(url, snapshot, cache, output, interval)
    if spec is None:
        return None
    from sitesweep.intel.index import IndexUnavailable

    try:
        return spec.open()
    except IndexUnavailable as exc:
        raise click.UsageError(str(exc)) from exc


def index_spec(
    url: Optional[str],
    snapshot: Optional[Path],
    cache: Optional[Path],
    output: Optional[Path],
    interval: float,
) -> Optional[IndexSpec]:
    """The index options as one value (``None`` when no index was named).

    Raises:
        click.UsageError: the options contradict each other.
    """
    if url is not None and snapshot is not None:
        raise click.UsageError("--index and --index-snapshot exclude each other")
    if url is None and snapshot is None:
        if cache is not None:
            raise click.UsageError("--index-cache needs --index")
        return None
    from sitesweep.intel.index import IndexSpec

    store = cache if cache is not None else (output / "index-cache" if output else None)
    return IndexSpec(url, snapshot, None if snapshot is not None else store, interval)
