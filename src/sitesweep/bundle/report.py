"""A plain-text report for the bundle: readable with ``less`` on any machine."""

from __future__ import annotations

from collections import Counter
from typing import List

from sitesweep.engine import ScanResult
from sitesweep.model import Category, Severity


def verdict(result: ScanResult, threshold: Severity = Severity.HIGH) -> str:
    """One line: compromised, suspicious or clean, with counts."""
    hits = result.at_least(threshold)
    if any(f.severity is Severity.CRITICAL for f in hits):
        return f"INDICATORS OF COMPROMISE FOUND: {len(hits)} finding(s) at or above {threshold}"
    if hits:
        return f"SUSPICIOUS: {len(hits)} finding(s) at or above {threshold}"
    return f"No finding at or above {threshold}"


def rotation_checklist(result: ScanResult) -> List[str]:
    """Lines of the rotation checklist: every credential finding at high or above."""
    items = [
        f
        for f in result.findings
        if f.category is Category.CREDENTIAL_EXPOSURE and f.severity.at_least(Severity.HIGH)
    ]
    if not items:
        return []
    out = ["", "Rotation checklist (the payload ran here; never read by sitesweep)", "-" * 66]
    out += [f"[ ] {f.title}" for f in items]
    return out


def render_text_report(result: ScanResult, collected_only: bool = False) -> str:
    """Render the whole result as text (``collected_only``: observations, no matching yet)."""
    inv = result.inventory
    out: List[str] = [
        f"sitesweep report for {inv.identity.hostname}",
        "scanned: "
        + ("the live system" if inv.live else "an offline tree (root in manifest.json)"),
        f"packs: {', '.join(f'{p.id} v{p.version}' for p in result.packs.packs) or 'none'}",
        "",
        "Observations only (sitesweep collect): run 'sitesweep analyze' on it for findings."
        if collected_only
        else verdict(result),
        "",
        "Findings",
        "--------",
    ]
    for f in result.findings:
        out.append(f"[{f.severity}] {f.title}")
        out.extend(f"    path: {p}" for p in f.paths)
        if f.environment:
            out.append(f"    environment: {f.environment}")
        out.extend(
            f"    {e.label}: {e.value}" + (f" (line {e.line})" if e.line else "")
            for e in f.evidence
        )
        if f.remediation:
            out.append(f"    what to do: {f.remediation}")
    if not result.findings:
        out.append("none")
    out += rotation_checklist(result)
    kinds = Counter(str(e.kind) for e in inv.environments)
    out += ["", "Environments", "------------"]
    out += [f"{count:6d}  {kind}" for kind, count in sorted(kinds.items())]
    out += [f"{len(inv.distributions):6d}  distributions in total", ""]
    out += ["Coverage gaps", "-------------"]
    out += [f"{g.reason}: {g.path or '-'}: {g.detail} ({g.area})" for g in result.gaps] or ["none"]
    return "\n".join(out) + "\n"
