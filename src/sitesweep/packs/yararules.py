"""YARA rules of the signature packs: validate, compile once per run, match bytes.

This is the only module that imports ``yara`` (yara-python). The import is guarded: on a machine
without yara-python, packs still load (their rule files are not compile-checked), and the YARA
check records a coverage gap saying why it did not run, instead of crashing the scan.

Every pack's rule files are compiled together into one namespace named after the pack id, so a
match names its pack, and two packs may use the same rule names. Rule metadata is read from
yara-python's rule and match objects, never by parsing rule text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from sitesweep.errors import PackError, PackProblem
from sitesweep.model import Severity

_IMPORT_PROBLEM: Optional[str] = None
try:
    import yara
except ImportError as _exc:  # pragma: no cover - yara-python is a declared dependency
    _IMPORT_PROBLEM = f"yara-python cannot be imported ({_exc})"

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_TIMEOUT",
    "RULE_FILE_LIMIT",
    "CompiledRules",
    "StringHit",
    "YaraHit",
    "YaraLimits",
    "YaraScanError",
    "YaraTimeoutError",
    "compile_packs",
    "rule_file_problems",
    "rule_names",
    "unavailable_reason",
]

DEFAULT_MAX_SIZE = 32 << 20
"""Largest file matched against the rules (bytes); larger files are a coverage gap."""

DEFAULT_TIMEOUT = 10
"""Per-file matching timeout in whole seconds (yara-python takes an integer)."""

RULE_FILE_LIMIT = 4 << 20
"""Largest YARA rule file a pack may carry."""

DEFAULT_TOTAL = 900.0
"""Seconds of YARA matching per scan (a normal scan needs a few)."""

MAX_STRING_HITS = 1000
"""Offsets kept per matched string identifier (a rule may match a string millions of times)."""

MetaValue = Union[str, int, bool]
_SEVERITIES = {severity.value for severity in Severity}


@dataclass(frozen=True)
class YaraLimits:
    """Bounds on matching one file, and on all of a scan's matching.

    Attributes:
        max_size: largest file matched, in bytes.
        timeout: seconds allowed for matching one file.
        total: seconds allowed for all the matching of one scan (files left when it is spent
            are ``budget_exhausted`` gaps): the per-file timeout alone lets N slow files cost N
            timeouts.
    """

    max_size: int = DEFAULT_MAX_SIZE
    timeout: int = DEFAULT_TIMEOUT
    total: float = DEFAULT_TOTAL


@dataclass(frozen=True)
class StringHit:
    """One occurrence of a rule string: its identifier (``$s1``) and byte offset."""

    identifier: str
    offset: int


@dataclass(frozen=True)
class YaraHit:
    """One rule that matched one buffer.

    Attributes:
        pack: id of the pack whose rules matched (the YARA namespace).
        rule: the rule identifier.
        meta: the rule's metadata as (key, value) pairs, in rule order.
        strings: string occurrences, ordered by offset then identifier.
        truncated: occurrences left out beyond :data:`MAX_STRING_HITS` per identifier.
    """

    pack: str
    rule: str
    meta: Tuple[Tuple[str, MetaValue], ...]
    strings: Tuple[StringHit, ...]
    truncated: int = 0

    def meta_text(self, key: str) -> Optional[str]:
        """Return metadata ``key`` as text, or ``None`` when the rule has none."""
        value = dict(self.meta).get(key)
        return None if value is None else str(value)


class YaraScanError(Exception):
    """Matching one buffer failed (yara-python's error text in the message)."""


class YaraTimeoutError(YaraScanError):
    """Matching one buffer took longer than the timeout."""


def unavailable_reason() -> Optional[str]:
    """Return why YARA matching cannot run here, or ``None`` when yara-python is usable."""
    return _IMPORT_PROBLEM


class CompiledRules:
    """Every pack's YARA rules, compiled once; match byte buffers against them.

    Args:
        rules: the compiled yara-python rules.
        packs: ids of the packs that contributed rules (the namespaces).
        count: how many rules were compiled.
    """

    def __init__(self, rules: yara.Rules, packs: Tuple[str, ...], count: int) -> None:
        self._rules = rules
        self.packs = packs
        self.count = count

    def match(self, data: bytes, timeout: int = DEFAULT_TIMEOUT) -> Tuple[YaraHit, ...]:
        """Match ``data``; return the hits ordered by pack and rule.

        Raises:
            YaraTimeoutError: matching took more than ``timeout`` seconds.
            YaraScanError: yara-python failed on this buffer.
        """
        try:
            matches = self._rules.match(data=data, timeout=max(1, int(timeout)))
        except yara.TimeoutError as exc:
            raise YaraTimeoutError(f"YARA matching timed out after {timeout} s") from exc
        except yara.Error as exc:
            raise YaraScanError(f"YARA matching failed: {exc}") from exc
        if not matches:
            return ()
        hits = (_hit(m) for m in matches)
        return tuple(sorted(hits, key=lambda h: (h.pack, h.rule)))


def _hit(match: yara.Match) -> YaraHit:
    strings: List[StringHit] = []
    truncated = 0
    for string in match.strings:
        instances = string.instances
        truncated += max(0, len(instances) - MAX_STRING_HITS)
        strings += [StringHit(string.identifier, i.offset) for i in instances[:MAX_STRING_HITS]]
    strings.sort(key=lambda s: (s.offset, s.identifier))
    meta = tuple(match.meta.items())
    return YaraHit(match.namespace, match.rule, meta, tuple(strings), truncated)


# --- validation at pack-load time ----------------------------------------------------------------


def rule_file_problems(path: Path) -> Tuple[str, ...]:
    """Compile one rule file on its own; return what is wrong with it (empty when fine).

    Checks YARA syntax (the message carries yara's ``line N``), that the file defines a rule, and
    that every ``meta.severity`` is a sitesweep severity. Includes are refused: a pack's rules
    must be self-contained files inside the pack. Without yara-python nothing can be checked and
    the result is empty (the YARA check then records the gap).
    """
    text, problem = _read_rule_text(path)
    if problem is not None:
        return (problem,)
    if _IMPORT_PROBLEM is not None:
        return ()
    try:
        rules = yara.compile(source=text, includes=False)
    except yara.SyntaxError as exc:
        return (f"YARA syntax error: {exc}",)
    except yara.Error as exc:
        return (f"YARA error: {exc}",)
    return _meta_problems(rules)


def rule_names(path: Path) -> Tuple[str, ...]:
    """Return the identifiers of the rules a valid rule file defines, in file order.

    Raises:
        PackError: the file is unreadable or does not compile; or yara-python is unavailable.
    """
    text, problem = _read_rule_text(path)
    if problem is None and _IMPORT_PROBLEM is not None:
        problem = _IMPORT_PROBLEM
    if problem is not None:
        raise PackError([PackProblem(str(path), "yara", problem)])
    try:
        return tuple(rule.identifier for rule in yara.compile(source=text, includes=False))
    except yara.Error as exc:
        raise PackError([PackProblem(str(path), "yara", f"YARA error: {exc}")]) from exc


def _read_rule_text(path: Path) -> Tuple[str, Optional[str]]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(RULE_FILE_LIMIT + 1)
    except OSError as exc:
        return "", f"cannot read: {exc.strerror or exc}"
    if len(raw) > RULE_FILE_LIMIT:
        return "", f"larger than {RULE_FILE_LIMIT} bytes"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", f"not valid UTF-8 (byte {exc.start})"


def _meta_problems(rules: yara.Rules) -> Tuple[str, ...]:
    problems: List[str] = []
    count = 0
    for rule in rules:
        count += 1
        severity = rule.meta.get("severity")
        if severity is not None and str(severity) not in _SEVERITIES:
            allowed = ", ".join(s.value for s in Severity)
            problems.append(
                f"rule {rule.identifier}: meta severity {severity!r} is not one of {allowed}"
            )
    if count == 0:
        problems.append("defines no YARA rule")
    return tuple(problems)


# --- compiling the run's rule set ----------------------------------------------------------------


@dataclass(frozen=True)
class _PackSource:
    """One pack's rule files joined into one YARA source, with a map back to file and line."""

    pack: str
    text: str
    starts: Tuple[int, ...]
    files: Tuple[str, ...]

    def locate(self, line: int) -> Tuple[str, int]:
        """Return (file, line in that file) for a line of the joined text."""
        index = max(0, bisect.bisect_right(self.starts, line) - 1)
        return self.files[index], line - self.starts[index] + 1


def _pack_source(pack_id: str, files: Sequence[Path]) -> Tuple[_PackSource, List[PackProblem]]:
    parts: List[str] = []
    starts: List[int] = []
    problems: List[PackProblem] = []
    line = 1
    for path in files:
        text, problem = _read_rule_text(path)
        if problem is not None:
            problems.append(PackProblem(str(path), "yara", problem))
            continue
        text = text if text.endswith("\n") else text + "\n"
        starts.append(line)
        parts.append(text)
        line += text.count("\n")
    source = _PackSource(pack_id, "".join(parts), tuple(starts), tuple(str(f) for f in files))
    return source, problems


def compile_packs(packs: Sequence[Tuple[str, Sequence[Path]]]) -> Optional[CompiledRules]:
    """Compile the rule files of every pack, one YARA namespace per pack id.

    Args:
        packs: (pack id, absolute rule file paths) for each pack; packs without files are skipped.

    Returns:
        The compiled rules, or ``None`` when no pack has rules or yara-python is unavailable.

    Raises:
        PackError: a rule file is unreadable, or the files of one pack do not compile together
            (e.g. two files define the same rule name); each problem names the file and line.
    """
    if _IMPORT_PROBLEM is not None:
        return None
    sources: Dict[str, _PackSource] = {}
    problems: List[PackProblem] = []
    for pack_id, files in packs:
        if files:
            sources[pack_id], found = _pack_source(pack_id, files)
            problems += found
    if problems:
        raise PackError(problems)
    if not sources:
        return None
    for source in sources.values():  # alone first, so an error is pinned to its pack
        _compile_one(source)
    rules = yara.compile(sources={p: s.text for p, s in sources.items()}, includes=False)
    return CompiledRules(rules, tuple(sorted(sources)), sum(1 for _ in rules))


def _compile_one(source: _PackSource) -> None:
    try:
        yara.compile(sources={source.pack: source.text}, includes=False)
    except yara.Error as exc:
        raise PackError([_located_problem(source, str(exc))]) from exc


def _located_problem(source: _PackSource, message: str) -> PackProblem:
    """Turn yara's ``line N: text`` for a joined source into a problem on the right file."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("line ") and head[5:].isdigit():
        file, line = source.locate(int(head[5:]))
        return PackProblem(file, "yara", f"YARA error: line {line}: {rest}")
    return PackProblem(source.files[0] if source.files else source.pack, "yara", message)
