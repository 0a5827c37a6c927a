"""Write the fleet summary as ``fleet.json`` and a self-contained ``fleet.html``.

The HTML has no script and no external resource; every value from a bundle is escaped with
:func:`escape` (printable, then HTML: bundle contents come from possibly hostile hosts).
"""

from __future__ import annotations

import json
from html import escape as _html_escape
from pathlib import Path
from typing import List, Tuple

from sitesweep.errors import OutputError
from sitesweep.fleet.summary import FleetSummary, HostRow, fleet_doc
from sitesweep.outputs import refuse_bundle_dir, write_new
from sitesweep.textsafe import printable

FLEET_JSON = "fleet.json"
FLEET_HTML = "fleet.html"

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
    ".compromised{background:#fdd}.unchecked{background:#ffe9c7}"
    ".incomplete{background:#fff8c4}.clean{background:#e6f6e6}ul{margin:0;padding-left:1.2em}"
)
_COLUMNS = (
    "Host",
    "Verdict",
    "Sweep status",
    "Worst",
    "Findings",
    "Affected releases",
    "Affected environments",
    "Rotate",
    "Gaps",
    "Reduced checks",
    "Not checked",
    "Attempts",
    "Detail",
)


def escape(value: str) -> str:
    """A value for the page: :func:`~sitesweep.textsafe.printable` (a host name or path reads as
    in every other document, no control character), then HTML escaping."""
    return _html_escape(printable(value))


def _items(values: Tuple[str, ...]) -> str:
    if not values:
        return ""
    return "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in values) + "</ul>"


def _row_html(row: HostRow) -> str:
    name = escape(row.name) + (f"<br><small>{escape(row.hostname)}</small>" if row.hostname else "")
    cells = (
        name,
        escape(row.verdict),
        escape(row.status),
        escape(row.worst),
        str(row.findings),
        _items(row.releases),
        _items(row.environments),
        _items(row.rotate),
        str(row.gaps),
        _items(row.reduced),
        _items(row.incomplete),
        str(row.attempts),
        escape(row.detail),
    )
    return f'<tr class="{escape(row.verdict)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def render_html(summary: FleetSummary) -> str:
    """The fleet report as one HTML page."""
    counts = ", ".join(f"{escape(k)}: {v}" for k, v in summary.counts().items())
    head = "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS)
    rows: List[str] = [_row_html(row) for row in summary.rows]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>sitesweep fleet report</title>"
        f"<style>{_STYLE}</style></head><body><h1>sitesweep fleet report</h1>"
        f"<p>Fleet verdict: <b>{escape(summary.verdict().value)}</b>. "
        f"{len(summary.rows)} hosts ({counts}); compromised means a finding at or above "
        f"<b>{escape(summary.threshold.value)}</b>.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>\n"
    )


def write_fleet(summary: FleetSummary, output: Path) -> Tuple[Path, Path]:
    """Write ``fleet.json`` and ``fleet.html`` into ``output``; return their paths.

    Raises:
        OutputError: the files cannot be written.
    """
    json_path, html_path = output / FLEET_JSON, output / FLEET_HTML
    refuse_bundle_dir(output, "a fleet report")
    try:
        output.mkdir(parents=True, exist_ok=True)
        text = json.dumps(fleet_doc(summary), indent=2, sort_keys=True) + "\n"
        write_new(json_path, text)
        write_new(html_path, render_html(summary))
    except OSError as exc:
        raise OutputError(f"cannot write the fleet report under {output}: {exc}") from exc
    return json_path, html_path
