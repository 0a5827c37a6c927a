"""Findings as Elastic Common Schema documents (JSON lines) for SIEM ingestion.

Every document is an alert (``event.kind: alert``) whose ``event.category`` values are the ones
ECS lists for what the finding is about, each with ``event.type: info`` (allowed for every one of
them). Process findings describe the process in ``process.*``, never as a file; ``rule.name`` is
the rule, the same for every instance, and ``threat.*`` names the ATT&CK technique. What ECS has
no name for goes under ``sitesweep.*``. ``@timestamp`` is when the collection finished: the time
the finding was observed, not when the file changed (that is ``file.mtime``, and the timeline).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from sitesweep import __version__
from sitesweep.exports.attack import (
    FRAMEWORK,
    Labeller,
    Technique,
    advisory_url,
    primary_advisory,
    rule_name,
)
from sitesweep.exports.common import (
    SEVERITY_NUMBER,
    PathShower,
    hashed_files,
    iso_utc,
    path_shower,
)
from sitesweep.host.identity import HostIdentity
from sitesweep.metadata.model import HostFile
from sitesweep.model import Category, Finding
from sitesweep.osprofile.model import OsFamily, OsInfo
from sitesweep.outcome import ScanResult
from sitesweep.textsafe import printable_tree

ECS_VERSION = "8.17.0"

_CATEGORY: Dict[Category, str] = {
    Category.PACKAGE: "package",
    Category.LOCKFILE: "package",
    Category.PROCESS: "process",
    Category.NETWORK: "network",
    Category.PERSISTENCE: "configuration",
    Category.CONFIG: "configuration",
}
"""The ECS ``event.category`` of what a finding observed; every other category is about files."""

EVENT_TYPE = ["info"]
"""``info`` is an expected event type of every category used here (``malware`` and
``intrusion_detection`` included), so every document's categorisation is one ECS allows."""

_PROCESS_LABELS = {
    "pid": "pid",
    "ppid": "parent.pid",
    "exe": "executable",
    "cmdline": "command_line",
    "cwd": "working_directory",
    "user": "user.name",
}
"""Evidence labels of process findings and the ``process.*`` field each one fills."""
_UNREAD = ("unreadable", "unknown")


def categories(finding: Finding) -> List[str]:
    """``event.category``: what was observed, then ``malware`` (a pack) or a heuristic's
    ``intrusion_detection``."""
    if finding.category is Category.NETWORK:
        observed = ["network", "process"]
    elif finding.category is Category.CREDENTIAL_EXPOSURE and not finding.paths:
        observed = ["host"]
    else:
        observed = [_CATEGORY.get(finding.category, "file")]
    return [*observed, "malware" if finding.pack else "intrusion_detection"]


def host_fields(ident: HostIdentity, os_info: Optional[OsInfo] = None) -> Dict[str, Any]:
    """``host.*`` of one host (name, id, OS)."""
    host: Dict[str, Any] = {"name": ident.hostname, "hostname": ident.hostname}
    if ident.machine_id:
        host["id"] = ident.machine_id
    os_fields: Dict[str, str] = {}
    if os_info is not None and os_info.family is not OsFamily.UNKNOWN:
        os_fields["type"] = str(os_info.family)  # linux, macos, windows: ECS's own values
    if os_info is not None and os_info.name:
        os_fields["name"] = os_info.name
    if os_info is not None and os_info.version:
        os_fields["version"] = os_info.version
    if ident.os_release:
        os_fields["full"] = ident.os_release
    elif os_info is not None and os_info.name:
        os_fields["full"] = " ".join(p for p in (os_info.name, os_info.version) if p)
    if ident.kernel:
        os_fields["kernel"] = ident.kernel
    if os_fields:
        host["os"] = os_fields
    return host


_PATH_FIELDS = frozenset({"executable", "working_directory"})


def _process(finding: Finding, show: PathShower) -> Optional[Dict[str, Any]]:
    """``process.*`` from a process finding's evidence (``None`` when it is not about one)."""
    values = {e.label: e.value for e in finding.evidence if e.label in _PROCESS_LABELS}
    if not values.get("pid", "").isdigit():
        return None
    proc: Dict[str, Any] = {}
    for label, value in values.items():
        if value in _UNREAD or not value:
            continue
        field = _PROCESS_LABELS[label]
        if field in ("pid", "parent.pid"):
            if not value.isdigit():
                continue
            number: Any = int(value)
            value = number
        if field in _PATH_FIELDS:
            value = show(value)
        head, _, tail = field.partition(".")
        if tail:
            proc.setdefault(head, {})[tail] = value
        else:
            proc[field] = value
    if "executable" in proc:
        proc["name"] = values["exe"].rsplit("/", 1)[-1]
    return proc


def _file(
    finding: Finding, files: Dict[str, HostFile], show: PathShower
) -> Optional[Dict[str, Any]]:
    if not finding.paths:
        return None
    path = finding.paths[0]
    data: Dict[str, Any] = {"path": show(path), "name": path.rsplit("/", 1)[-1]}
    known = files.get(path)
    sha = next((e.value for e in finding.evidence if e.label == "sha256"), None)
    if sha is not None and len(sha) != 64:  # "unreadable", "-"
        sha = None
    if known is not None:
        sha = sha or known.sha256
        data.update(size=known.size, mtime=iso_utc(known.mtime), uid=str(known.uid))
    if sha:
        data["hash"] = {"sha256": sha}
    return data


def threat_fields(techniques: Tuple[Technique, ...]) -> Optional[Dict[str, Any]]:
    """``threat.*`` for ATT&CK techniques (``None`` when there is none)."""
    if not techniques:
        return None
    tactics = list(dict.fromkeys(t.tactic for t in techniques))
    threat: Dict[str, Any] = {
        "framework": FRAMEWORK,
        "tactic": {
            "id": [t.id for t in tactics],
            "name": [t.name for t in tactics],
            "reference": [t.reference for t in tactics],
        },
        "technique": {
            "id": [t.technique_id for t in techniques],
            "name": [t.technique_name for t in techniques],
            "reference": [t.reference_of(t.technique_id) for t in techniques],
        },
    }
    subs = [t for t in techniques if t.is_sub]
    if subs:
        threat["technique"]["subtechnique"] = {
            "id": [t.id for t in subs],
            "name": [t.name for t in subs],
            "reference": [t.reference_of(t.id) for t in subs],
        }
    return threat


def ecs_document(
    result: ScanResult,
    finding: Finding,
    timestamp: str,
    labeller: Optional[Labeller] = None,
    files: Optional[Dict[str, HostFile]] = None,
    show: Optional[PathShower] = None,
) -> Dict[str, Any]:
    """One finding as an ECS alert document (host paths written as the host writes them)."""
    labeller = labeller or Labeller(result)
    show = show or path_shower(result)
    rule: Dict[str, Any] = {
        "id": finding.rule,
        "name": rule_name(finding),
        "ruleset": finding.pack or "heuristic",
    }
    reference = labeller.reference(finding)
    if reference:
        rule["reference"] = reference
    doc: Dict[str, Any] = {
        "@timestamp": timestamp,
        "message": finding.title,
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "module": "sitesweep",
            "dataset": "sitesweep.findings",
            "id": finding.id,
            "severity": SEVERITY_NUMBER[finding.severity],
            "category": categories(finding),
            "type": list(EVENT_TYPE),
        },
        "rule": rule,
        "host": host_fields(result.inventory.identity, result.inventory.os),
        "labels": {"severity": str(finding.severity), "category": str(finding.category)},
        "observer": {
            "product": "sitesweep",
            "vendor": "sitesweep",
            "version": __version__,
            "type": "scanner",
        },
        "sitesweep": {
            "paths": [show(p) for p in finding.paths],
            "evidence": [
                {"label": e.label, "value": e.value, "line": e.line} for e in finding.evidence
            ],
            "remediation": finding.remediation,
            "environment": show(finding.environment) if finding.environment else None,
        },
    }
    threat = threat_fields(labeller.techniques(finding))
    if threat is not None:
        doc["threat"] = threat
    advisories = labeller.advisories(finding)
    primary = primary_advisory(advisories)
    if primary is not None:
        doc["vulnerability"] = {
            "id": primary,
            "reference": advisory_url(primary),
            "enumeration": primary.split("-", 1)[0].upper(),
            "category": ["malicious-package"],
            "severity": str(finding.severity).capitalize(),
            "scanner": {"vendor": "sitesweep"},
        }
        doc["sitesweep"]["advisories"] = list(advisories)
    process = _process(finding, show)
    if process is not None:
        doc["process"] = process
    else:
        file = _file(finding, files if files is not None else hashed_files(result), show)
        if file is not None:
            doc["file"] = file
    if finding.distribution:
        doc["package"] = {"name": finding.distribution, "version": finding.version or ""}
        if finding.environment:
            doc["package"]["path"] = show(finding.environment)
    return doc


_PROSE = frozenset({"remediation"})
"""Keys whose text is a pack's multi-line remediation (line breaks kept, each line escaped)."""


def findings_jsonl(result: ScanResult, timestamp: str) -> str:
    """Every finding as one ECS JSON document per line."""
    labeller, files, show = Labeller(result), hashed_files(result), path_shower(result)
    lines: List[str] = [
        json.dumps(
            printable_tree(ecs_document(result, f, timestamp, labeller, files, show), _PROSE),
            sort_keys=True,
            ensure_ascii=True,
        )
        for f in result.findings
    ]
    return "".join(line + "\n" for line in lines)
