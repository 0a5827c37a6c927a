"""File names inside a bundle, and the schema version of their contents."""

from __future__ import annotations

SCHEMA_VERSION = "2.0"
"""Additive changes bump the minor number; removing or renaming a field bumps the major.

2.0: ``findings.json`` is an object (``schema_version``, ``host``, ``outcome``, ``findings``)
instead of a bare list of findings."""

MANIFEST = "manifest.json"
FINDINGS = "findings.json"
ENVIRONMENTS = "environments.json"
INVENTORY = "inventory.json"
COVERAGE = "coverage.json"
REPORT_TEXT = "report.txt"
EVIDENCE_DIR = "evidence"
EVIDENCE_INDEX = "evidence/index.json"
EVIDENCE_SUFFIX = ".evidence"
"""Appended to every evidence copy, so no copy keeps a name Python acts on (``.pth``, ``.py``)."""
REPORT_HTML = "report.html"
TIMELINE_CSV = "timeline.csv"
TIMELINE_JSONL = "timeline.jsonl"
SBOM = "sbom.cdx.json"
FINDINGS_JSONL = "findings.jsonl"
FINDINGS_CSV = "findings.csv"
INVENTORY_CSV = "inventory.csv"
FINDINGS_SARIF = "findings.sarif"
