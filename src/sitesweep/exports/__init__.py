"""Views of one result for the people and tools that receive a bundle.

Each module turns a :class:`~sitesweep.outcome.ScanResult` into text (report page, timeline, SBOM,
SIEM and spreadsheet exports). None of them writes a file: the bundle writer does.
"""

from __future__ import annotations
