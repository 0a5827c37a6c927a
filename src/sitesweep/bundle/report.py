"""A plain-text report for the bundle: readable with ``less`` on any machine.

It tells what :mod:`sitesweep.outcome` decided (verdict, rotation list, coverage) and never
judges anything itself. Every string from the host or a pack is escaped (:func:`printable`), so a
hostile name cannot forge a line of the report or act on the terminal that shows it.
"""

from __future__ import annotations

from collections import Counter
from typing import List

from sitesweep.model import Finding, Severity
from sitesweep.osprofile.model import OsInfo
from sitesweep.osprofile.paths import display_path
from sitesweep.outcome import Outcome, ScanResult, grouped, outcome_of, remedies
from sitesweep.textsafe import printable, printable_lines


def verdict(result: ScanResult, threshold: Severity = Severity.HIGH) -> str:
    """One line: the outcome's headline."""
    return outcome_of(result, threshold).headline


def rotation_checklist(outcome: Outcome) -> List[str]:
    """Lines of the rotation checklist: one item per secret the payload that ran here steals."""
    if not outcome.rotation:
        return []
    out = ["", "Rotate these secrets (their thief ran here; sitesweep never read them)", "-" * 70]
    for item in outcome.rotation:
        out.append(f"[ ] {printable(item.line())}")
        out.extend(f"      evidence: {printable(why)}" for why in item.evidence)
    return out


def _finding_lines(f: Finding, os_info: OsInfo) -> List[str]:
    out = [f"    [{f.severity}] {printable(f.title)}"]
    out.extend(f"        path: {printable(display_path(p, os_info))}" for p in f.paths)
    out.extend(
        f"        {printable(e.label)}: {printable(e.value)}"
        + (f" (line {e.line})" if e.line else "")
        for e in f.evidence
    )
    return out


def render_text_report(result: ScanResult, threshold: Severity = Severity.HIGH) -> str:
    """Render the whole result as text: verdict, what to do once per pack, findings by place."""
    outcome = outcome_of(result, threshold)
    inv = result.inventory
    packs = ", ".join(f"{p.id} v{p.version}" for p in result.packs.packs) or "none"
    out: List[str] = [
        f"sitesweep report for {printable(inv.identity.hostname)}",
        "scanned: "
        + ("the live system" if inv.live else "an offline tree (root in manifest.json)"),
        f"packs: {printable(packs)}",
        "",
        f"verdict: {outcome.verdict}",
        outcome.headline,
    ]
    out += [f"  not checked: {printable(why)}" for why in outcome.incomplete]
    out += rotation_checklist(outcome)
    todo = [r for r in remedies(result) if r.texts]
    if todo:
        out += ["", "What to do (once per pack)", "-" * 26]
        for remedy in todo:
            out.append(
                f"{printable(remedy.pack)}: {printable(remedy.title)} "
                f"({remedy.findings} finding(s), worst {remedy.worst})"
            )
            for text in remedy.texts:
                out.extend(f"    {line}".rstrip() for line in printable_lines(text))
    out += ["", f"Findings ({len(result.findings)})", "--------"]
    for env, by_pack in grouped(result.findings):
        out.append(f"environment: {printable(display_path(env, inv.os))}")
        for pack, found in by_pack:
            out.append(f"  pack: {printable(pack)}")
            for f in found:
                out += _finding_lines(f, inv.os)
    if not result.findings:
        out.append("none" if result.matched else "not matched yet (observations only)")
    kinds = Counter(str(e.kind) for e in inv.environments)
    out += ["", "Environments", "------------"]
    out += [f"{count:6d}  {printable(kind)}" for kind, count in sorted(kinds.items())]
    out += [f"{len(inv.distributions):6d}  distributions in total", ""]
    out += ["Coverage gaps", "-------------"]
    out += [
        printable(f"{g.reason}: {g.path or '-'}: {g.detail} ({g.area})") for g in result.gaps
    ] or ["none"]
    return "\n".join(out) + "\n"
