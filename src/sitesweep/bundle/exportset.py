"""The derived files of a bundle or an analysis: report page, timeline, SBOM, SIEM exports.

Built here from the result and the run's facts, as text; the writer writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional, Tuple

from sitesweep import __version__
from sitesweep.bundle import layout
from sitesweep.bundle.custody import Custody, command_line, tool_digest
from sitesweep.engine import ScanResult
from sitesweep.exports.common import iso_dt, iso_utc
from sitesweep.exports.csvout import findings_csv
from sitesweep.exports.ecs import findings_jsonl
from sitesweep.exports.facts import CollectionFacts
from sitesweep.exports.html import render_html
from sitesweep.exports.sbom import render_sbom
from sitesweep.exports.timeline import build_timeline, timeline_csv, timeline_jsonl
from sitesweep.host.live_identity import LiveHost


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


def export_files(
    result: ScanResult, facts: CollectionFacts, seed: str, collected_only: bool
) -> Dict[str, str]:
    """Every derived file by bundle name; findings exports only when findings were matched."""
    events = build_timeline(result)
    files = {
        layout.REPORT_HTML: render_html(result, facts, events, collected_only),
        layout.TIMELINE_CSV: timeline_csv(events),
        layout.TIMELINE_JSONL: timeline_jsonl(events),
        layout.SBOM: render_sbom(result, seed, facts.finished),
    }
    if not collected_only:
        files[layout.FINDINGS_JSONL] = findings_jsonl(result, facts.finished)
        files[layout.FINDINGS_CSV] = findings_csv(result)
    return files
