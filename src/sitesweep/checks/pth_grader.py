"""Static grading of executable ``.pth`` lines and ``sitecustomize``/``usercustomize`` source.

``site.py`` executes every ``.pth`` line that starts with ``import `` or ``import\\t``, at every
interpreter start. litellm 1.82.8 abused this with ``litellm_init.pth``: one 34,628-byte line that
spawned ``sys.executable -c "exec(base64.b64decode(...))"``. Many popular packages ship benign
executable lines too (setuptools, virtualenv, editable installs, coverage), so a line is graded by
what its code *does*, never by the mere presence of ``import`` or ``exec``.

Nothing here executes or imports the text it grades. ``ast.parse`` only builds a syntax tree; when
it cannot (syntax errors, null bytes, absurd nesting) a bounded regex scan runs instead. Strings
that the code would execute (``exec('...')``, ``python -c '...'``, a base64 literal fed to
``exec``) are decoded as data and graded the same way, to a fixed depth. Inputs are capped at
1 MiB. No regex in these modules repeats a group (``(...)*``, ``(...)+``, ``(...){n,}``); groups
are at most optional, so none can backtrack catastrophically. The public functions never raise.

This module is the public entry point. The work is split by what it holds: ``pth_findings``
(``Feature``, limits, the findings accumulator), ``pth_patterns`` (known benign lines),
``pth_names`` (dotted-name tables), ``pth_textscan`` (the regex fallback scan), ``pth_resolve``
(name resolution and payload decoding) and ``pth_ast`` (the syntax-tree scan).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Set, Tuple

from sitesweep.checks.pth_ast import C_FLAG, PYTHON_EXE, Scanner
from sitesweep.checks.pth_findings import (
    BLOB_MIN_CHARS,
    LONG_LINE_CHARS,
    MAX_INPUT_CHARS,
    MAX_NESTED_DEPTH,
    MAX_REASONS,
    Budget,
    Feature,
    Findings,
)
from sitesweep.checks.pth_patterns import BENIGN_PATTERNS, BenignPattern, find_benign_pattern
from sitesweep.checks.pth_textscan import (
    BLOB_TEXT,
    DECODER_TEXT,
    EXEC_TEXT,
    EXECUTABLE_MINUS_C,
    FALLBACK_RULES,
    FETCHER,
    IPV4,
    STRING_START,
    URL,
)
from sitesweep.model import Severity

__all__ = [
    "BENIGN_PATTERNS",
    "BLOB_MIN_CHARS",
    "HIGH_FEATURES",
    "LONG_LINE_CHARS",
    "MAX_INPUT_CHARS",
    "MAX_NESTED_DEPTH",
    "MAX_REASONS",
    "MEDIUM_FEATURES",
    "BenignPattern",
    "Feature",
    "Grade",
    "find_benign_pattern",
    "grade_pth_lines",
    "grade_python_source",
]

logger = logging.getLogger(__name__)

_FALLBACK_RULES = FALLBACK_RULES
_AUDITED_REGEXES = (
    BLOB_TEXT,
    C_FLAG,
    DECODER_TEXT,
    EXEC_TEXT,
    EXECUTABLE_MINUS_C,
    FETCHER,
    IPV4,
    PYTHON_EXE,
    STRING_START,
    URL,
)
"""The helper modules' regexes, bound in this namespace because the test suite audits every
compiled regex here (and ``_FALLBACK_RULES``) for repeated groups, which can backtrack forever."""

HIGH_FEATURES = frozenset(
    {Feature.DECODE_EXEC, Feature.SPAWN_PROCESS, Feature.NETWORK, Feature.OBFUSCATED_NAME}
)
MEDIUM_FEATURES = frozenset(
    {
        Feature.ENCODED_BLOB,
        Feature.LONG_LINE,
        Feature.ENV_HARVEST,
        Feature.DYNAMIC_IMPORT,
        Feature.EXEC_DYNAMIC,
    }
)


@dataclass(frozen=True)
class Grade:
    """The verdict on a piece of startup code.

    Attributes:
        severity: high for decode-and-exec, process spawning or network use; medium for
            obfuscation-like traits; low for file writes or unknown code; info for known hooks.
        features: what the code does, sorted and unique.
        reasons: short human sentences naming each behaviour and its line.
        benign_pattern: name of the known benign pattern a line matched, if any.
    """

    severity: Severity
    features: Tuple[Feature, ...] = ()
    reasons: Tuple[str, ...] = ()
    benign_pattern: Optional[str] = None


def _severity(features: Set[Feature], *, all_benign: bool, empty: bool) -> Severity:
    """Map features to a severity; unknown code with no feature is low, known or empty is info."""
    if features & HIGH_FEATURES:
        return Severity.HIGH
    if features & MEDIUM_FEATURES:
        return Severity.MEDIUM
    if Feature.FILE_WRITE in features:
        return Severity.LOW
    return Severity.INFO if all_benign or empty else Severity.LOW


def _grade(findings: Findings, *, benign: Optional[str], all_benign: bool, empty: bool) -> Grade:
    """Turn accumulated findings into a :class:`Grade`."""
    features = findings.features
    if benign:
        features.add(Feature.KNOWN_BENIGN)
    return Grade(
        severity=_severity(features, all_benign=all_benign, empty=empty),
        features=tuple(sorted(features)),
        reasons=findings.reasons(),
        benign_pattern=benign,
    )


def _flag_long_line(findings: Findings, number: int, text: str) -> bool:
    """Record ``long_line`` for line ``number`` if it is over the limit; return whether it was."""
    if len(text) <= LONG_LINE_CHARS:
        return False
    findings.add(Feature.LONG_LINE, f"line {number} is {len(text)} characters long")
    return True


def _grade_pth(lines: Sequence[Tuple[int, str]]) -> Grade:
    """:func:`grade_pth_lines` without its safety net."""
    findings = Findings()
    budget = Budget(MAX_INPUT_CHARS)
    remaining = MAX_INPUT_CHARS
    benign: Optional[str] = None
    all_benign = bool(lines)
    for number, raw in lines:
        text = raw.rstrip("\r\n")
        _flag_long_line(findings, number, text)
        if remaining <= 0:
            findings.add(Feature.LONG_LINE, f"input beyond 1 MiB not graded (from line {number})")
            all_benign = False
            break
        if len(text) > remaining:
            findings.add(Feature.LONG_LINE, f"line {number} graded on its first {remaining} chars")
            text = text[:remaining]
        remaining -= len(text)
        line_findings = Findings()
        Scanner(line_findings, budget=budget, line=number).scan(text)
        pattern = find_benign_pattern(text)
        if pattern is None:
            all_benign = False
            if not line_findings.features:
                findings.add(None, f"line {number} runs code that matches no known benign pattern")
            findings.extend(line_findings)
            continue
        benign = benign or pattern.name
        findings.add(None, f"line {number} matches known benign pattern {pattern.name}")
        findings.extend(line_findings, waived=pattern.waives)
    return _grade(findings, benign=benign, all_benign=all_benign, empty=not lines)


def _grade_source(text: str) -> Grade:
    """:func:`grade_python_source` without its safety net."""
    findings = Findings()
    if len(text) > MAX_INPUT_CHARS:
        findings.add(Feature.LONG_LINE, f"source is {len(text)} characters; graded the first 1 MiB")
        text = text[:MAX_INPUT_CHARS]
    for number, physical in enumerate(text.split("\n"), 1):
        if _flag_long_line(findings, number, physical):
            break
    scanner = Scanner(findings, budget=Budget(MAX_INPUT_CHARS))
    scanner.scan(text)
    empty = not text.strip() or scanner.statements == 0
    return _grade(findings, benign=None, all_benign=False, empty=empty)


def _text_only_grade(texts: Iterable[str]) -> Grade:
    """Last resort after an unexpected error: the plain text scan, or a fixed medium grade."""
    try:
        findings = Findings()
        findings.add(None, "analysis failed; graded by text scan only")
        Scanner(findings, budget=Budget(0)).scan_text("\n".join(texts)[:MAX_INPUT_CHARS])
        grade = _grade(findings, benign=None, all_benign=False, empty=False)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("text scan failed", exc_info=True)
        return Grade(severity=Severity.MEDIUM, reasons=("startup code could not be analysed",))
    if grade.severity.rank < Severity.MEDIUM.rank:
        return Grade(severity=Severity.MEDIUM, features=grade.features, reasons=grade.reasons)
    return grade


def grade_pth_lines(lines: Sequence[Tuple[int, str]]) -> Grade:
    """Grade the executable lines of one ``.pth`` file.

    Each line is graded on its own, as ``site.py`` executes each on its own. A line matching a
    known benign pattern lowers unknown code to info; it never hides a bad feature.

    Args:
        lines: (line number, line text) for each line that starts with ``import``.

    Returns:
        The grade; never raises.
    """
    try:
        return _grade_pth(lines)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("pth grader failed; falling back to a text scan", exc_info=True)
    return _text_only_grade(text for _, text in lines)


def grade_python_source(text: str) -> Grade:
    """Grade ``sitecustomize.py``/``usercustomize.py`` source (or any startup module).

    Args:
        text: the module's source text (decoded leniently by the caller).

    Returns:
        The grade; never raises. Source with no suspicious behaviour is low; empty source is info.
    """
    try:
        return _grade_source(text)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("source grader failed; falling back to a text scan", exc_info=True)
    return _text_only_grade([text])
