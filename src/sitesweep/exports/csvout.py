"""Findings and installed distributions as CSV for spreadsheets.

Every row starts with the host's name and machine id, so the CSVs of several hosts can be
concatenated and still say which host each row is about.
"""

from __future__ import annotations

from typing import Iterator, Tuple

from sitesweep.exports.common import (
    HOST_COLUMNS,
    csv_chunks,
    csv_text,
    host_cells,
    iso_utc,
    path_shower,
    worst_by_distribution,
)
from sitesweep.exports.stream import environment_finder
from sitesweep.outcome import ScanResult
from sitesweep.textsafe import printable_lines

COLUMNS = (
    *HOST_COLUMNS,
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

INVENTORY_COLUMNS = (
    *HOST_COLUMNS,
    "environment",
    "environment_kind",
    "distribution",
    "name_as_written",
    "version",
    "installer",
    "installed_at",
    "site_dir",
    "metadata_path",
    "worst_finding",
)
"""``inventory.csv``: one row per installed distribution and site directory."""


def findings_csv(result: ScanResult) -> str:
    """Every finding, most severe first; multi-valued cells are joined with newlines."""
    host = host_cells(result)
    show = path_shower(result)
    rows = (
        (
            host.name,
            host.id,
            f.id,
            f.severity,
            f.category,
            f.rule,
            f.pack or "",
            f.title,
            tuple(show(p) for p in f.paths),
            show(f.environment) if f.environment else "",
            f.distribution or "",
            f.version or "",
            tuple(
                f"{e.label}: {e.value}" + (f" (line {e.line})" if e.line else "")
                for e in f.evidence
            ),
            tuple(printable_lines(f.remediation)) if f.remediation else "",
        )
        for f in result.findings
    )
    return csv_text(COLUMNS, rows)


def inventory_rows(result: ScanResult) -> Iterator[Tuple[object, ...]]:
    """The rows of ``inventory.csv``, by site directory and name."""
    host = host_cells(result)
    show = path_shower(result)
    env_of = environment_finder(result)
    worst = worst_by_distribution(result.findings)
    ordered = sorted(result.inventory.distributions, key=lambda d: (d.site_dir, d.name, d.path))
    for dist in ordered:
        env = env_of(dist.site_dir)
        prefix = env.prefix if env is not None else ""
        yield (
            host.name,
            host.id,
            show(prefix) if prefix else "",
            str(env.kind) if env is not None else "",
            dist.name,
            dist.raw_name,
            dist.version,
            dist.installer or "",
            iso_utc(dist.installed_at),
            show(dist.site_dir),
            show(dist.path),
            str(worst.get((prefix, dist.name, dist.version), "")),
        )


def inventory_csv_chunks(result: ScanResult) -> Iterator[str]:
    """``inventory.csv`` in pieces (a large host's distributions are never held as text whole)."""
    return csv_chunks(INVENTORY_COLUMNS, inventory_rows(result))
