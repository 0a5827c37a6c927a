"""Findings as CSV for spreadsheets: one row per finding, evidence flattened into one cell."""

from __future__ import annotations

from sitesweep.engine import ScanResult
from sitesweep.exports.common import csv_text

COLUMNS = (
    "id",
    "severity",
    "category",
    "rule",
    "pack",
    "title",
    "paths",
    "environment",
    "distribution",
    "version",
    "evidence",
    "remediation",
)


def findings_csv(result: ScanResult) -> str:
    """Every finding, most severe first; multi-valued cells are joined with newlines."""
    rows = (
        (
            f.id,
            f.severity,
            f.category,
            f.rule,
            f.pack or "",
            f.title,
            "\n".join(f.paths),
            f.environment or "",
            f.distribution or "",
            f.version or "",
            "\n".join(
                f"{e.label}: {e.value}" + (f" (line {e.line})" if e.line else "")
                for e in f.evidence
            ),
            f.remediation or "",
        )
        for f in result.findings
    )
    return csv_text(COLUMNS, rows)
