"""Turn packs into display rows and JSON documents for ``sitesweep signatures list | show``.

The CLI renders these; nothing here prints. JSON documents are plain, JSON-ready values with
stable keys (the same shape ``--json`` writes to stdout).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Tuple

from sitesweep.packs.model import Pack

__all__ = ["PackSummary", "pack_doc", "summarize", "summary_doc"]

JsonDoc = Dict[str, object]


@dataclass(frozen=True)
class PackSummary:
    """One row of ``signatures list``.

    Attributes:
        id: pack id.
        version: the pack's own revision.
        title: one line naming the incident.
        affected: ``name specifiers`` for each affected release, e.g. ``litellm ==1.82.7,==1.82.8``.
        files, artifacts, domains, ips, urls, persistence, credentials, yara: how many indicators
            of each kind the pack holds.
        source: the directory the pack was loaded from.
    """

    id: str
    version: str
    title: str
    affected: Tuple[str, ...]
    files: int
    artifacts: int
    domains: int
    ips: int
    urls: int
    persistence: int
    credentials: int
    yara: int
    source: str

    def counts(self) -> Tuple[Tuple[str, int], ...]:
        """Return ``(kind, count)`` for every indicator kind, in display order."""
        return (
            ("files", self.files),
            ("artifacts", self.artifacts),
            ("domains", self.domains),
            ("ips", self.ips),
            ("urls", self.urls),
            ("persistence", self.persistence),
            ("credentials", self.credentials),
            ("yara", self.yara),
        )


def summarize(pack: Pack) -> PackSummary:
    """Return the ``signatures list`` row of ``pack``."""
    return PackSummary(
        id=pack.id,
        version=pack.version,
        title=pack.title,
        affected=tuple(_affected_label(pack, index) for index in range(len(pack.affected))),
        files=len(pack.files),
        artifacts=len(pack.artifacts),
        domains=len(pack.network.domains),
        ips=len(pack.network.ips),
        urls=len(pack.network.urls),
        persistence=len(pack.persistence),
        credentials=len(pack.credentials),
        yara=len(pack.yara_files),
        source=pack.source,
    )


def _affected_label(pack: Pack, index: int) -> str:
    """Return ``name spec || spec`` for the affected release at ``index``."""
    release = pack.affected[index]
    return f"{release.name} " + " || ".join(str(spec) for spec in release.specifiers)


def summary_doc(summary: PackSummary) -> JsonDoc:
    """Return the JSON document of one ``signatures list`` row."""
    return {
        "id": summary.id,
        "version": summary.version,
        "title": summary.title,
        "affected": list(summary.affected),
        "counts": dict(summary.counts()),
        "source": summary.source,
    }


def pack_doc(pack: Pack) -> JsonDoc:
    """Return everything ``signatures show`` displays about ``pack``, as a JSON document."""
    return {
        "id": pack.id,
        "title": pack.title,
        "version": pack.version,
        "source": pack.source,
        "sha256": pack.sha256,
        "references": list(pack.references),
        "advisories": list(pack.advisories),
        "window": {"start": _iso(pack.window_start), "end": _iso(pack.window_end)},
        "affected": _affected_docs(pack),
        "files": _file_docs(pack),
        "artifacts": [
            {"sha256": a.sha256, "filename": a.filename, "description": a.description}
            for a in pack.artifacts
        ],
        "network": {
            "domains": list(pack.network.domains),
            "ips": list(pack.network.ips),
            "urls": list(pack.network.urls),
        },
        "persistence": [
            {"id": p.id, "path": p.path, "severity": p.severity.value, "description": p.description}
            for p in pack.persistence
        ],
        "credentials": list(pack.credentials),
        "yara": list(pack.yara_files),
        "remediation": {"text": pack.remediation, "playbook": pack.playbook},
    }


def _affected_docs(pack: Pack) -> List[JsonDoc]:
    """Return the affected releases as JSON documents."""
    return [
        {
            "name": release.name,
            "specifiers": [str(spec) for spec in release.specifiers],
            "severity": release.severity.value,
            "note": release.note,
        }
        for release in pack.affected
    ]


def _file_docs(pack: Pack) -> List[JsonDoc]:
    """Return the file indicators as JSON documents (hashes sorted, for stable output)."""
    return [
        {
            "id": f.id,
            "name": f.name,
            "site_path": f.site_path,
            "sha256": sorted(f.sha256),
            "severity": f.severity.value,
            "name_is_indicator": f.name_is_indicator,
            "description": f.description,
        }
        for f in pack.files
    ]


def _iso(moment: Optional[datetime]) -> Optional[str]:
    """Return an ISO 8601 UTC timestamp ending in ``Z``, or ``None``."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")
