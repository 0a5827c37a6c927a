"""The derived files of a bundle or an analysis: report page, timeline, SBOM, SIEM exports.

Built here from the result and the run's facts, as text; the writer writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Iterable, Iterator, Optional, Tuple

from sitesweep import __version__
from sitesweep.bundle import layout
from sitesweep.bundle.custody import Custody, command_line, tool_digest
from sitesweep.exports.common import host_cells, iso_dt, iso_utc
from sitesweep.exports.csvout import findings_csv, inventory_csv_chunks
from sitesweep.exports.ecs import findings_jsonl
from sitesweep.exports.facts import CollectionFacts
from sitesweep.exports.html import render_html
from sitesweep.exports.sarif import render_sarif
from sitesweep.exports.sbom import sbom_chunks
from sitesweep.exports.timeline import (
    build_timeline,
    timeline_csv_chunks,
    timeline_jsonl_chunks,
)
from sitesweep.host.live_identity import LiveHost
from sitesweep.model import Severity
from sitesweep.outcome import ScanResult


def collection_facts(
    result: ScanResult,
    mode: str,
    times: Tuple[datetime, datetime],
    argv: Tuple[str, ...],
    custody: Custody,
    live: Optional[LiveHost] = None,
    source_bundle: Optional[str] = None,
) -> CollectionFacts:
    """The report page's chain-of-custody facts for one run."""
    return CollectionFacts(
        mode=mode,
        started=iso_dt(times[0]),
        finished=iso_dt(times[1]),
        command=command_line(argv),
        tool_version=__version__,
        tool_sha256=tool_digest(),
        case_id=custody.case_id,
        examiner=custody.examiner,
        note=custody.note,
        boot_time=iso_utc(live.boot_time) if live and live.boot_time is not None else None,
        addresses=live.addresses if live else (),
        source_bundle=source_bundle,
    )


def export_files(result: ScanResult, facts: CollectionFacts, seed: str) -> Dict[str, str]:
    """Every derived file by bundle name; findings exports only when findings were matched."""
    return {name: "".join(parts) for name, parts in export_parts(result, facts, seed)}


def export_parts(
    result: ScanResult, facts: CollectionFacts, seed: str, threshold: Severity = Severity.HIGH
) -> Iterator[Tuple[str, Iterable[str]]]:
    """:func:`export_files` one file at a time, each text in pieces to write as they come.

    Each file's pieces must be consumed before the next file is asked for; joined, they are
    the text :func:`export_files` returns.
    """
    events = build_timeline(result)
    host = host_cells(result)
    yield layout.REPORT_HTML, (render_html(result, facts, events, threshold),)
    yield layout.TIMELINE_CSV, timeline_csv_chunks(events, host)
    yield layout.TIMELINE_JSONL, timeline_jsonl_chunks(events, host)
    yield layout.INVENTORY_CSV, inventory_csv_chunks(result)
    yield layout.SBOM, sbom_chunks(result, seed, facts.finished)
    if result.matched:
        yield layout.FINDINGS_JSONL, (findings_jsonl(result, facts.finished),)
        yield layout.FINDINGS_CSV, (findings_csv(result),)
        yield layout.FINDINGS_SARIF, (render_sarif(result),)
