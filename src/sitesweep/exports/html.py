"""The report page: one self-contained HTML file, rendered with Jinja2 and autoescaping.

Everything on the page comes from a possibly hostile host, so the environment escapes every
value (``autoescape=True``), the template never puts data in a URL, script or style, and a
Content-Security-Policy forbids scripts and requests even if something slipped through.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Tuple

import jinja2
import markupsafe

from sitesweep.exports.common import PathShower, path_shower
from sitesweep.exports.facts import CollectionFacts
from sitesweep.exports.picture import affected_tree, timeline_chart
from sitesweep.exports.timeline import TimelineEvent, exposure_window
from sitesweep.model import Finding, Severity
from sitesweep.outcome import Outcome, ScanResult, Verdict, outcome_of
from sitesweep.textsafe import printable, printable_lines

TEMPLATE = "report.html.j2"
TIMELINE_ROWS = 2000
"""Timeline rows shown on the page (flagged rows first kept); the CSV holds them all."""
GAP_ROWS = 500


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sitesweep.exports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["prose"] = _prose
    return env


def _shown(value: object) -> object:
    """Every value the page shows goes through :func:`printable` (then HTML escaping): a name
    reads as in every other rendered document; markup the template built is left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return printable(value)
    return value


def _prose(text: str) -> markupsafe.Markup:
    """A pack's multi-line text: each line escaped (printable, then HTML), line breaks kept."""
    return markupsafe.Markup("\n").join(markupsafe.escape(line) for line in printable_lines(text))


@dataclass(frozen=True)
class PackAction:
    """A pack's remediation, shown when the pack's findings reach the threshold."""

    id: str
    title: str
    remediation: str
    playbook: Optional[str]
    references: Tuple[str, ...]
    credentials: Tuple[str, ...]


@dataclass(frozen=True)
class EnvRow:
    """An environment with findings."""

    prefix: str
    kind: str
    worst: str
    counts: str


_LEVEL = {
    Verdict.COMPROMISED: "bad",
    Verdict.INCOMPLETE: "warn",
    Verdict.UNCHECKED: "info",
    Verdict.CLEAN: "ok",
}
"""The verdict box's colour class."""


def _actions(result: ScanResult, threshold: Severity) -> List[PackAction]:
    ids = sorted({f.pack for f in result.at_least(threshold) if f.pack})
    actions = []
    for pack_id in ids:
        pack = result.packs.get(pack_id)
        if pack is not None:
            actions.append(
                PackAction(
                    pack.id,
                    pack.title,
                    pack.remediation.strip(),
                    pack.playbook,
                    pack.references,
                    pack.credentials,
                )
            )
    return actions


def _rotation(outcome: Outcome) -> List[Tuple[str, List[str]]]:
    """The outcome's rotation list: each secret once, with its account, thieves and evidence."""
    return [
        (
            item.secret,
            [f"account {item.account}", f"stolen by {', '.join(item.packs)}", *item.evidence],
        )
        for item in outcome.rotation
    ]


def _affected(result: ScanResult) -> List[EnvRow]:
    by_env: Dict[str, List[Finding]] = {}
    for f in result.findings:
        if f.environment and f.severity is not Severity.INFO:
            by_env.setdefault(f.environment, []).append(f)
    kinds: Dict[str, str] = {e.prefix: str(e.kind) for e in result.inventory.environments}
    rows = []
    for prefix, found in sorted(by_env.items(), key=lambda kv: (kv[1][0].sort_key(), kv[0])):
        counts = Counter(str(f.severity) for f in found)
        text = ", ".join(f"{counts[s.value]} {s.value}" for s in Severity if counts[s.value])
        rows.append(EnvRow(prefix, kinds.get(prefix, "?"), str(found[0].severity), text))
    return rows


def _timeline_rows(events: Tuple[TimelineEvent, ...]) -> Tuple[List[TimelineEvent], int]:
    if len(events) <= TIMELINE_ROWS:
        return list(events), 0
    flagged = [e for e in events if e.severity and e.severity != Severity.INFO.value]
    flagged_set = set(flagged)
    rest = [e for e in events if e not in flagged_set]
    keep = set(flagged[:TIMELINE_ROWS]) | set(rest[: max(0, TIMELINE_ROWS - len(flagged))])
    shown = [e for e in events if e in keep]
    return shown, len(events) - len(shown)


def _within(show: PathShower) -> Callable[[str, str], str]:
    """A path shown relative to a prefix that holds it (else whole), as the host writes it."""

    def within(path: str, prefix: str) -> str:
        if prefix.startswith("/") and path.startswith(prefix.rstrip("/") + "/"):
            return show(path)[len(show(prefix.rstrip("/"))) + 1 :]
        return show(path)

    return within


def _publication(result: ScanResult) -> List[Tuple[str, float, float]]:
    """(pack, start, end) of the incident window of each pack with findings above info."""
    ids = sorted({f.pack for f in result.findings if f.pack and f.severity is not Severity.INFO})
    out = []
    for pack_id in ids:
        pack = result.packs.get(pack_id)
        if pack is not None and pack.window_start is not None and pack.window_end is not None:
            out.append((pack.id, pack.window_start.timestamp(), pack.window_end.timestamp()))
    return out


def report_context(
    result: ScanResult,
    facts: CollectionFacts,
    events: Tuple[TimelineEvent, ...],
    threshold: Severity = Severity.HIGH,
) -> Dict[str, Any]:
    """The template's variables (plain objects; every string is escaped on output)."""
    outcome = outcome_of(result, threshold)
    collected_only = not result.matched
    inv = result.inventory
    shown, hidden = _timeline_rows(events)
    window = exposure_window(events)
    show = path_shower(result)
    counts = Counter(f.severity for f in result.findings)
    actions = _actions(result, threshold)
    return {
        "host": inv.identity,
        "live": inv.live,
        "facts": facts,
        "collected_only": collected_only,
        "verdict": outcome.headline,
        "verdict_name": outcome.verdict.value,
        "incomplete": outcome.incomplete,
        "level": _LEVEL[outcome.verdict],
        "threshold": str(threshold),
        "counts": [(s.value, counts.get(s, 0)) for s in Severity],
        "window": window,
        "chart": timeline_chart(events, window, _publication(result)),
        "tree": affected_tree(result),
        "show": show,
        "within": _within(show),
        "severities": [s.value for s in Severity],
        "actions": actions,
        "shown_remediation": {a.remediation for a in actions},
        "rotation": _rotation(outcome),
        "groups": [
            (s.value, [f for f in result.findings if f.severity is s])
            for s in Severity
            if counts.get(s)
        ],
        "affected": _affected(result),
        "env_kinds": sorted(Counter(str(e.kind) for e in inv.environments).items()),
        "env_total": len(inv.environments),
        "dist_total": len(inv.distributions),
        "timeline": shown,
        "timeline_hidden": hidden,
        "gaps": result.gaps[:GAP_ROWS],
        "gaps_hidden": max(0, len(result.gaps) - GAP_ROWS),
        "gap_reasons": sorted(Counter(str(g.reason) for g in result.gaps).items()),
        "packs": result.packs.packs,
        "checks_run": result.checks_run,
        "coverage": {"dirs_walked": inv.dirs_walked, "files_seen": inv.files_seen},
    }


def render_html(
    result: ScanResult,
    facts: CollectionFacts,
    events: Tuple[TimelineEvent, ...],
    threshold: Severity = Severity.HIGH,
) -> str:
    """Render the report page."""
    template = _environment().get_template(TEMPLATE)
    return template.render(report_context(result, facts, events, threshold))
