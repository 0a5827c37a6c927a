"""Findings as Elastic Common Schema documents (JSON lines) for SIEM ingestion.

Field names follow ECS where one exists (``event.*``, ``rule.*``, ``host.*``, ``file.*``,
``process.pid``, ``package.*``); what ECS has no name for goes under ``sitesweep.*``. ``@timestamp``
is when the collection finished: the time the finding was observed, not when the file changed
(that is ``file.mtime``, and the timeline).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from sitesweep import __version__
from sitesweep.engine import ScanResult
from sitesweep.exports.common import SEVERITY_NUMBER, hashed_files, iso_utc
from sitesweep.model import Category, Finding

_CATEGORY = {
    Category.PACKAGE: ["package"],
    Category.PROCESS: ["process"],
    Category.NETWORK: ["network"],
    Category.PERSISTENCE: ["configuration"],
    Category.CONFIG: ["configuration"],
    Category.CREDENTIAL_EXPOSURE: ["iam"],
}
"""ECS ``event.category`` values; every other category is about files."""


def _pid(finding: Finding) -> Optional[int]:
    for ev in finding.evidence:
        if ev.label == "pid" and ev.value.isdigit():
            return int(ev.value)
    return None


def _file(result: ScanResult, finding: Finding) -> Optional[Dict[str, Any]]:
    if not finding.paths:
        return None
    path = finding.paths[0]
    data: Dict[str, Any] = {"path": path, "name": path.rsplit("/", 1)[-1]}
    known = hashed_files(result).get(path)
    sha = next((e.value for e in finding.evidence if e.label == "sha256"), None)
    if known is not None:
        sha = sha or known.sha256
        data.update(size=known.size, mtime=iso_utc(known.mtime), uid=str(known.uid))
    if sha:
        data["hash"] = {"sha256": sha}
    return data


def ecs_document(result: ScanResult, finding: Finding, timestamp: str) -> Dict[str, Any]:
    """One finding as an ECS alert document."""
    ident = result.inventory.identity
    host: Dict[str, Any] = {"name": ident.hostname, "hostname": ident.hostname}
    if ident.machine_id:
        host["id"] = ident.machine_id
    if ident.os_release:
        host["os"] = {"full": ident.os_release}
    if ident.kernel:
        host.setdefault("os", {})["kernel"] = ident.kernel
    doc: Dict[str, Any] = {
        "@timestamp": timestamp,
        "message": finding.title,
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "alert",
            "module": "sitesweep",
            "dataset": "sitesweep.findings",
            "id": finding.id,
            "severity": SEVERITY_NUMBER[finding.severity],
            "category": _CATEGORY.get(finding.category, ["file"]),
            "type": ["indicator"],
        },
        "rule": {"id": finding.rule, "name": finding.title, "ruleset": finding.pack or "heuristic"},
        "host": host,
        "labels": {"severity": str(finding.severity), "category": str(finding.category)},
        "observer": {"product": "sitesweep", "version": __version__, "type": "scanner"},
        "sitesweep": {
            "paths": list(finding.paths),
            "evidence": [
                {"label": e.label, "value": e.value, "line": e.line} for e in finding.evidence
            ],
            "remediation": finding.remediation,
            "environment": finding.environment,
        },
    }
    file = _file(result, finding)
    if file is not None:
        doc["file"] = file
    pid = _pid(finding)
    if pid is not None:
        doc["process"] = {"pid": pid}
    if finding.distribution:
        doc["package"] = {"name": finding.distribution, "version": finding.version or ""}
        if finding.environment:
            doc["package"]["path"] = finding.environment
    return doc


def findings_jsonl(result: ScanResult, timestamp: str) -> str:
    """Every finding as one ECS JSON document per line."""
    lines: List[str] = [
        json.dumps(ecs_document(result, f, timestamp), sort_keys=True, ensure_ascii=True)
        for f in result.findings
    ]
    return "".join(line + "\n" for line in lines)
