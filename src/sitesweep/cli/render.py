"""How a result is told on stdout: for people on a terminal, for pipes otherwise, or a format.

``--format text`` on a terminal: the verdict, what to rotate, findings grouped by environment and
pack with each pack's remediation once, paths whole (lines are never folded by the renderer).
``--format text`` into a pipe: one tab-separated record per line, ``finding`` lines holding every
path whole, so ``grep litellm_init.pth`` works. ``json``: the outcome document (verdict, host,
counts, rotation list, findings, bundle directory and archive SHA-256). ``jsonl``, ``csv``,
``sarif``: the renderers registered in :mod:`sitesweep.exports.registry`.

Every value that came from the host, a bundle or a pack passes through
:func:`sitesweep.textsafe.printable` (and, for rich, through markup escaping) first. Results
go to stdout; progress and logs stay on stderr.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import IO, List, Optional

import click
from rich.console import Console
from rich.markup import escape

from sitesweep.bundle.serialize import findings_doc
from sitesweep.cli.console import SafeConsole, safe
from sitesweep.errors import SitesweepError
from sitesweep.exports.registry import FORMATS, renderer
from sitesweep.model import Finding, Severity
from sitesweep.outcome import (
    BundleRef,
    Outcome,
    ResultView,
    ScanResult,
    Verdict,
    grouped,
    remedies,
    view_of,
)
from sitesweep.textsafe import printable, printable_lines

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_VERDICT_STYLE = {
    Verdict.COMPROMISED: "bold red",
    Verdict.INCOMPLETE: "bold yellow",
    Verdict.UNCHECKED: "bold yellow",
    Verdict.CLEAN: "bold green",
}

_PATHS_SHOWN = 20
"""Paths listed per finding on a terminal; a planted million-row RECORD must not flood it (the
pipe form and the JSON carry them all)."""
_GAPS_SHOWN = 10


class FormatUnavailableError(SitesweepError):
    """``--format`` names a format no renderer provides (yet)."""


def format_option(func: click.decorators.FC) -> click.decorators.FC:
    """``--format text|json|jsonl|csv|sarif`` (and ``--json``, the same as ``--format json``)."""
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Same as --format json.",
    )(func)
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="How results are printed on stdout: text (a terminal view, or one finding per "
        "line into a pipe), json (verdict, host, counts, rotation list, findings, bundle and "
        "its SHA-256), jsonl (ECS, one finding per line), csv, sarif.",
    )(func)


def chosen_format(output_format: str, as_json: bool) -> str:
    """The format asked for (``--json`` is ``json``), refused before any work if unavailable.

    Raises:
        FormatUnavailableError: no renderer provides it yet.
    """
    name = "json" if as_json else output_format
    if name not in ("text", "json") and renderer(name) is None:
        raise FormatUnavailableError(f"--format {name} is not available yet")
    return name


def _terminal(console: Console, view: ResultView) -> None:
    result, outcome = view.result, view.outcome
    console.print(f"[{_VERDICT_STYLE[outcome.verdict]}]{safe(outcome.headline)}[/]")
    for why in outcome.incomplete:
        console.print(f"  [yellow]not checked:[/] {safe(why)}")
    if outcome.rotation:
        console.print("\n[bold]Rotate these secrets[/] (their thief ran here; never read)")
        for item in outcome.rotation:
            console.print(f"  [ ] {safe(item.line())}")
            for why in item.evidence:
                console.print(f"        [dim]{safe(why)}[/]")
    _remedies(console, result)
    if result.findings:
        console.print(f"\n[bold]Findings[/] ({len(result.findings)})")
    for env, by_pack in grouped(result.findings):
        console.print(f"[bold]{safe(env)}[/]")
        for pack, found in by_pack:
            console.print(f"  [underline]{safe(pack)}[/]")
            for f in found:
                _terminal_finding(console, f)
    _summary(console, result, view.bundle)


def _remedies(console: Console, result: ScanResult) -> None:
    todo = [r for r in remedies(result) if r.texts]
    if todo:
        console.print("\n[bold]What to do[/] (once per pack)")
        for remedy in todo:
            console.print(f"  [{_STYLE[remedy.worst]}]{safe(remedy.pack)}[/]: {safe(remedy.title)}")
            for text in remedy.texts:
                for line in printable_lines(text):
                    console.print(f"      {escape(line)}".rstrip())


def _terminal_finding(console: Console, f: Finding) -> None:
    console.print(f"    [{_STYLE[f.severity]}]{f.severity}[/] {safe(f.title)}")
    for path in f.paths[:_PATHS_SHOWN]:
        console.print(f"        {safe(path)}")
    if len(f.paths) > _PATHS_SHOWN:
        more = len(f.paths) - _PATHS_SHOWN
        console.print(f"        [dim]... {more} more (--format json or findings.json)[/]")


def _summary(console: Console, result: ScanResult, bundle: Optional[BundleRef]) -> None:
    inv = result.inventory
    kinds = Counter(str(e.kind) for e in inv.environments)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
    console.print(f"\nScanned: {safe(inv.root)}" if not inv.live else "")
    console.print(
        f"Environments: {len(inv.environments)} ({safe(summary)}); "
        f"{len(inv.distributions)} distributions; {inv.dirs_walked} directories walked"
    )
    if result.gaps:
        console.print(f"[yellow]Coverage gaps: {len(result.gaps)}[/]")
        reasons = Counter(str(g.reason) for g in result.gaps)
        for reason, count in sorted(reasons.items()):
            console.print(f"  {count:5d} {safe(reason)}")
        for gap in result.gaps[:_GAPS_SHOWN]:
            console.print(f"  [dim]{safe(gap.path or '-')}: {safe(gap.detail)}[/]")
        if len(result.gaps) > _GAPS_SHOWN:
            console.print(f"  [dim]... {len(result.gaps) - _GAPS_SHOWN} more in coverage.json[/]")
    if bundle is not None and bundle.encrypted:
        console.print(f"Encrypted bundle (age; no plaintext kept): {safe(bundle.archive)}")
    elif bundle is not None:
        console.print(f"Bundle: {safe(bundle.directory)}")
        console.print(f"Archive: {safe(bundle.archive)}")
    if bundle is not None and bundle.archive_sha256:
        console.print(f"Archive SHA-256: {bundle.archive_sha256}")


def _record(*fields: object) -> str:
    return "\t".join(printable(f) for f in fields)


def pipe_lines(view: ResultView) -> List[str]:
    """The pipe form: one tab-separated record per line, the first field saying what it is.

    ``verdict``, ``not-checked``, ``rotate``, ``finding`` (severity, pack, rule, environment,
    title, then every path), ``gaps``, ``bundle``. Tabs and newlines inside values are escaped.
    """
    result, outcome = view.result, view.outcome
    lines = [_record("verdict", outcome.verdict, outcome.headline)]
    lines += [_record("not-checked", why) for why in outcome.incomplete]
    lines += [
        _record("rotate", r.secret, r.account, ",".join(r.packs), *r.evidence)
        for r in outcome.rotation
    ]
    lines += [
        _record(
            "finding",
            f.severity,
            f.pack or "-",
            f.rule,
            f.environment or "-",
            f.title,
            *f.paths,
        )
        for f in result.findings
    ]
    lines.append(_record("gaps", len(result.gaps)))
    if view.bundle is not None:
        lines.append(
            _record(
                "bundle",
                view.bundle.directory if not view.bundle.encrypted else "-",
                view.bundle.archive,
                view.bundle.archive_sha256 or "-",
            )
        )
    return lines


def json_doc(view: ResultView) -> dict[str, object]:
    """The ``--format json`` document: findings.json's, plus where the bundle went."""
    doc: dict[str, object] = findings_doc(view.result, view.outcome.threshold)
    doc["verdict"] = view.outcome.verdict.value
    # What was scanned (the manifest's scan_root): "/" live, the --root directory, or the
    # image file, so that a run over a disk image names it (its host is the OS's hostname).
    doc["scan_root"] = view.result.inventory.root
    doc["bundle"] = view.bundle.doc() if view.bundle is not None else None
    return doc


def emit_result(
    result: ScanResult,
    threshold: Severity,
    bundle: Optional[BundleRef],
    output_format: str = "text",
    stream: Optional[IO[str]] = None,
) -> Outcome:
    """Print ``result`` on stdout in ``output_format``; return its outcome (for the exit code).

    Raises:
        FormatUnavailableError: no renderer provides ``output_format`` yet.
    """
    view = view_of(result, threshold, bundle)
    out = stream if stream is not None else sys.stdout
    if output_format == "text":
        if out.isatty():
            _terminal(SafeConsole(file=out, soft_wrap=True, highlight=False), view)
        else:
            out.write("".join(line + "\n" for line in pipe_lines(view)))
    elif output_format == "json":
        out.write(json.dumps(json_doc(view), indent=2, sort_keys=True) + "\n")
    else:
        render = renderer(output_format)
        if render is None:
            raise FormatUnavailableError(f"--format {output_format} is not available yet")
        for piece in render(view):
            out.write(piece)
    out.flush()
    return view.outcome


def print_result(
    console: Console, result: ScanResult, threshold: Severity, bundle: Optional[BundleRef]
) -> None:
    """The terminal view on ``console`` (used where a caller owns the console)."""
    _terminal(console, view_of(result, threshold, bundle))
