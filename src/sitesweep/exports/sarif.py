"""Findings on a project's files as SARIF 2.1.0, so the same packs can gate CI.

A project's files are its lockfiles and requirement files and what is inside its own virtual
environments (``venv``, ``tox``, ``nox``: a ``.pth`` or an installed release in a repository's
``.venv``). Findings elsewhere (secrets, processes, persistence, shell history, system
environments) are about the host, not the project, and stay out. Locations are relative to the
scanned root (``uriBaseId`` ``SCANROOT``), so a CI run of ``sitesweep scan --root .`` annotates
the repository's own files. Each rule is a stable rule name (the rule id without per-instance
parts), its level follows the finding's severity and GitHub's ``security-severity`` is set from it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple
from urllib.parse import quote

from sitesweep import __version__
from sitesweep.discovery.model import EnvKind
from sitesweep.exports.attack import Labeller, rule_name
from sitesweep.exports.common import path_shower
from sitesweep.model import Finding, Severity
from sitesweep.outcome import Outcome, Verdict, outcome_of
from sitesweep.textsafe import printable_tree

if TYPE_CHECKING:
    from sitesweep.outcome import ScanResult

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
VERSION = "2.1.0"
BASE_ID = "SCANROOT"
PROJECT_ENVIRONMENTS = frozenset({EnvKind.VENV, EnvKind.TOX, EnvKind.NOX})
"""Environments a project holds in its own tree."""

LEVEL: Dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY: Dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.5",
}
"""GitHub code scanning's ``security-severity`` (critical above 9.0, high 7.0 to 8.9, ...)."""


class _Scope:
    """Which host paths are a project's files."""

    def __init__(self, result: ScanResult) -> None:
        self._lockfiles: Set[str] = {lock.path for lock in result.inventory.lockfiles}
        self._envs: Tuple[str, ...] = tuple(
            env.prefix.rstrip("/") + "/"
            for env in result.inventory.environments
            if env.kind in PROJECT_ENVIRONMENTS
        )

    def holds(self, path: str) -> bool:
        return path in self._lockfiles or path.startswith(self._envs)

    def location(self, finding: Finding) -> Optional[str]:
        """The first path of ``finding`` that a project holds, or ``None``."""
        return next((p for p in finding.paths if self.holds(p)), None)


def _uri(path: str) -> str:
    """A host path as a URI reference relative to the scanned root (RFC 3986 escaped; bytes that
    are not UTF-8 are kept as their own ``%XX``)."""
    return quote(path.lstrip("/").encode("utf-8", "surrogateescape"), safe="/-._~")


def _line(finding: Finding) -> Optional[int]:
    return next((e.line for e in finding.evidence if e.line), None)


def _rule(labeller: Labeller, finding: Finding, ident: str) -> Dict[str, Any]:
    tags = ["security", str(finding.category)]
    tags += [f"external/mitre/{t.id}" for t in labeller.techniques(finding)]
    tags += list(labeller.advisories(finding))
    rule: Dict[str, Any] = {
        "id": ident,
        "shortDescription": {"text": ident},
        "fullDescription": {"text": finding.title},
        "defaultConfiguration": {"level": LEVEL[finding.severity]},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "precision": "high" if finding.pack else "medium",
        },
    }
    pack = labeller.pack(finding)
    if pack is not None:
        rule["shortDescription"] = {"text": pack.title}
        rule["help"] = {"text": pack.remediation.strip()}
    reference = labeller.reference(finding)
    if reference:
        rule["helpUri"] = reference
    return rule


def _invocation(outcome: Outcome) -> Dict[str, Any]:
    """The run's verdict, so an empty result list is never read as clean when it is not."""
    notes = [
        {"level": "warning", "message": {"text": f"not checked: {why}"}}
        for why in outcome.incomplete
    ]
    return {
        "executionSuccessful": outcome.verdict is not Verdict.UNCHECKED,
        "toolExecutionNotifications": notes,
        "properties": {"verdict": outcome.verdict.value, "headline": outcome.headline},
    }


def sarif_log(result: ScanResult, outcome: Optional[Outcome] = None) -> Dict[str, Any]:
    """The SARIF log of ``result``'s findings on project files, with the host's verdict
    (``outcome``, decided once by the outcome module) in the invocation."""
    outcome = outcome or outcome_of(result)
    scope = _Scope(result)
    labeller = Labeller(result)
    show = path_shower(result)
    rules: List[Dict[str, Any]] = []
    index: Dict[str, int] = {}
    results: List[Dict[str, Any]] = []
    for finding in result.findings:
        path = scope.location(finding)
        if path is None:
            continue
        ident = rule_name(finding)
        if ident not in index:
            index[ident] = len(rules)
            rules.append(_rule(labeller, finding, ident))
        region: Dict[str, Any] = {}
        line = _line(finding)
        if line is not None:
            region = {"region": {"startLine": line}}
        results.append(
            {
                "ruleId": ident,
                "ruleIndex": index[ident],
                "level": LEVEL[finding.severity],
                "message": {"text": finding.title},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(path), "uriBaseId": BASE_ID},
                            **region,
                        }
                    }
                ],
                "partialFingerprints": {"sitesweepFindingId/v1": finding.id},
                "properties": {
                    "severity": str(finding.severity),
                    "hostPaths": [show(p) for p in finding.paths],
                    **({"environment": show(finding.environment)} if finding.environment else {}),
                    **({"pack": finding.pack} if finding.pack else {}),
                },
            }
        )
    run: Dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sitesweep",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [_invocation(outcome)],
    }
    # Where the root was on the scanning machine is told once, in manifest.json (scan_root).
    run["originalUriBaseIds"] = {
        BASE_ID: {"description": {"text": "the root that was scanned (manifest.json scan_root)"}}
    }
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


_PROSE = frozenset({"help"})
"""Keys whose text is a pack's multi-line remediation (line breaks kept, each line escaped)."""


def render_sarif(result: ScanResult, outcome: Optional[Outcome] = None) -> str:
    """``findings.sarif``: :func:`sarif_log` as JSON text."""
    log = printable_tree(sarif_log(result, outcome), _PROSE)
    return json.dumps(log, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
