"""``scan --image`` / ``collect --image`` over several images: one host, bundle and verdict each.

``--image`` is repeatable, and one archive may hold several images (``docker save a b``). Each
image is scanned as a host of its own (:func:`sitesweep.pipeline.scan_images`), named after the
image, with its own bundle. One image is told as any scan is; several are told as one table, the
fleet report's (:mod:`sitesweep.fleet.summary`): per image its verdict, worst finding, affected
releases (``litellm 1.82.8``) and environments, what to rotate, and its bundle. An image that
cannot be read is a row of its own (``unchecked``, status ``unreadable``, the error as detail;
``failed`` for one whose scan could not finish) and an ``error:`` line naming it; the other
images are still scanned and their bundles written. An image's other tags are its row's detail.

Exit codes, as a single scan's: 1 when any image has a finding at or above ``--fail-on``; else 2
when any image could not be read at all; else 0 (an incomplete image is told, not an exit code).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from sitesweep.cli.console import RichProgress, stderr
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.model import Severity
from sitesweep.pipeline import ImageScan, ScanOptions, ScanOutcome, scan_images
from sitesweep.textsafe import printable

__all__ = ["refuse_sarif", "scan_each_image", "single_outcome", "tell_collected", "tell_images"]


def scan_each_image(opts: ScanOptions, threshold: Severity, match: bool) -> List[ImageScan]:
    """Scan every image the options name; from the second image on, one line per image on
    stderr as it is done (a lone image is told by the caller as any scan)."""
    scans: List[ImageScan] = []
    with RichProgress() as progress:
        for scan in scan_images(opts, progress, match):
            scans.append(scan)
            if len(scans) == 2:
                _tell_one(scans[0], threshold, match)
            if len(scans) >= 2:
                _tell_one(scan, threshold, match)
    return scans


def refuse_sarif(output_format: str, several: bool) -> None:
    """SARIF describes one host's findings: refused over several images (before any is scanned
    when several ``--image`` are given; an archive found to hold several, after).

    Raises:
        FormatUnavailableError: ``--format sarif`` over several images.
    """
    if output_format == "sarif" and several:
        from sitesweep.cli.render import FormatUnavailableError

        raise FormatUnavailableError(
            "--format sarif describes one host's findings: scan one image at a time for it"
        )


def single_outcome(scans: List[ImageScan]) -> Optional[ScanOutcome]:
    """The outcome of a run over one image; ``None`` when there were several.

    Raises:
        ImageError: the one image could not be read (exit 2, its message on one line).
    """
    if len(scans) != 1:
        return None
    (scan,) = scans
    if scan.outcome is None:
        from sitesweep.door.oci import ImageError

        raise ImageError(scan.error)
    return scan.outcome


def _bundle_path(outcome: ScanOutcome) -> str:
    bundle = outcome.bundle
    if bundle is None:
        return ""
    return str(bundle.archive if bundle.encrypted else bundle.directory)


def _tell_one(scan: ImageScan, threshold: Severity, match: bool) -> None:
    if scan.outcome is None:
        line = f"error: {scan.error}"
        stderr.print(
            printable(line), style="bold red", markup=False, highlight=False, soft_wrap=True
        )
        return
    if match:
        from sitesweep.outcome import outcome_of

        verdict = outcome_of(scan.outcome.result, threshold).verdict.value
    else:
        verdict = f"collected {len(scan.outcome.result.inventory.environments)} environments"
    line = f"image {scan.name}: {verdict}: {_bundle_path(scan.outcome)}"
    stderr.print(printable(line), markup=False, highlight=False, soft_wrap=True)


def tell_images(scans: List[ImageScan], threshold: Severity, output_format: str) -> int:
    """Print the table of the images scanned (stdout, in ``output_format``: text, json, jsonl,
    csv) and the run's verdict line (stderr); return the exit code."""
    from sitesweep.cli.fleet_view import emit_fleet, fleet_line
    from sitesweep.fleet.summary import FleetSummary, HostRow, row_of
    from sitesweep.fleet.views import view_of
    from sitesweep.outcome import Verdict

    refuse_sarif(output_format, several=True)
    rows: List[HostRow] = []
    for scan in scans:
        if scan.outcome is None:
            row = HostRow(scan.name, "", Verdict.UNCHECKED.value, scan.status, scan.error)
        else:
            view = view_of(scan.outcome.result, {}, threshold)
            also = f"also tagged {', '.join(scan.aliases)}" if scan.aliases else ""
            row = row_of(scan.name, "image", also, view, Path(_bundle_path(scan.outcome)))
        rows.append(row)
    summary = FleetSummary(tuple(rows), threshold)
    emit_fleet(summary, output_format, noun="image")
    line = fleet_line(summary, "image")
    stderr.print(printable(line), markup=False, highlight=False, soft_wrap=True)
    if summary.compromised():
        return ExitCode.FINDINGS
    if any(scan.outcome is None for scan in scans):
        return ExitCode.ERROR
    return ExitCode.OK


def tell_collected(scans: List[ImageScan]) -> int:
    """``collect`` over several images: each was told as it was done; 2 if any was unreadable."""
    bad = [scan for scan in scans if scan.outcome is None]
    done = len(scans) - len(bad)
    stderr.print(f"Collected {done} of {len(scans)} image(s)", markup=False, highlight=False)
    return ExitCode.ERROR if bad else ExitCode.OK
