"""Whether a flat alternation of byte regexes matches a text, at the speed of ``bytes in``.

Python's ``re`` has no multi-literal search: on a pattern like ``a|b|\\bc\\(|(?<!x)\\.d\\b`` it
tries every alternative at every position (about 10 MB/s on real JavaScript bundles). An
:class:`AlternationSearch` is derived from such a compiled pattern and answers exactly what
``pattern.search(data) is not None`` answers, for every input:

- the pattern is split into its top-level alternatives; the regex matches iff one of them does;
- an alternative whose language is a finite set of literals (``wallet``, ``https?\\.request``,
  ``discord(?:app)?\\.com/api``) matches iff one of those literals is in the data (``in``);
- any other alternative is anchored: after its leading zero-width assertions (``\\b``,
  lookarounds) it consumes one of a finite set of literal prefixes (``\\breadFile\\(`` consumes
  ``readFile(``; ``Object\\.(?:entries|keys)\\(\\s*...`` consumes ``Object.entries(`` or
  ``Object.keys(``), so it matches somewhere iff it matches at an occurrence ``i`` of one of
  them, which ``alternative.match(data, i)`` decides: ``match`` with a position sees the bytes
  before it for lookbehinds and ``\\b`` (unlike slicing), so this is the very test ``search``
  makes at ``i``;
- an alternative this module does not understand (or a pattern with flags) is searched with
  its own regex: slower, never different.

The literal table is derived from the regex, so the regex stays the single definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Tuple

_META = frozenset(b".^$*+?{}[]()|\\")
_QUANT = frozenset(b"?*+{")
_BRACE = re.compile(rb"\{\d+(?:,\d*)?\}|\{,\d+\}")
EXPANSION_LIMIT = 64
"""Most literals one alternative is expanded into; past it, the alternative keeps its regex."""
PREFIX_LIMIT = 4
"""Most literal prefixes an alternative is anchored on (each is one ``find`` pass)."""


@dataclass(frozen=True)
class _Item:
    """One element of an alternative: a literal byte, a zero-width assertion, a non-capturing
    group (its source), or anything else; with the quantifier that follows it, if any."""

    kind: str  # "lit", "zero", "group", "other"
    source: bytes
    quant: bytes = b""


def _class_end(src: bytes, i: int) -> int:
    """Index after the character class that starts at ``src[i] == '['``."""
    j = i + 1
    if j < len(src) and src[j : j + 1] == b"^":
        j += 1
    if j < len(src) and src[j : j + 1] == b"]":
        j += 1
    while j < len(src):
        c = src[j : j + 1]
        if c == b"\\":
            j += 2
            continue
        if c == b"]":
            return j + 1
        j += 1
    raise ValueError("unterminated character class")


def _group_end(src: bytes, i: int) -> int:
    """Index after the group that starts at ``src[i] == '('``."""
    depth = 0
    j = i
    while j < len(src):
        c = src[j : j + 1]
        if c == b"\\":
            j += 2
            continue
        if c == b"[":
            j = _class_end(src, j)
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ValueError("unbalanced group")


def alternatives(src: bytes) -> List[bytes]:
    """The top-level alternatives of a regex source (split at ``|`` outside groups/classes)."""
    out: List[bytes] = []
    start = j = 0
    while j < len(src):
        c = src[j : j + 1]
        if c == b"\\":
            j += 2
        elif c == b"[":
            j = _class_end(src, j)
        elif c == b"(":
            j = _group_end(src, j)
        elif c == b"|":
            out.append(src[start:j])
            j += 1
            start = j
        else:
            j += 1
    out.append(src[start:])
    return out


def _quantifier(src: bytes, j: int) -> int:
    """Index after the quantifier at ``src[j]`` (none: ``j``), with its lazy/possessive mark."""
    if j >= len(src) or src[j] not in _QUANT:
        return j
    if src[j : j + 1] == b"{":
        m = _BRACE.match(src, j)
        if m is None:  # a literal '{' in re's eyes; not understood here
            raise ValueError("brace")
        j = m.end()
    else:
        j += 1
    if j < len(src) and src[j : j + 1] in (b"?", b"+"):
        j += 1
    return j


def _escape(alt: bytes, j: int) -> Tuple[_Item, int]:
    """The item of the escape at ``alt[j] == '\\'``, and the index after it."""
    if j + 1 >= len(alt):
        raise ValueError("trailing backslash")
    e = alt[j + 1]
    if e in b"bB":
        return _Item("zero", alt[j : j + 2]), j + 2
    if e in b"0123456789":  # a backreference (or an octal): not split apart
        raise ValueError("numeric escape")
    if e == 0x78:  # \xHH
        return _Item("other", alt[j : j + 4]), j + 4
    if chr(e).isalnum():  # \w \s \d ...: not a literal
        return _Item("other", alt[j : j + 2]), j + 2
    return _Item("lit", bytes([e])), j + 2


def _group(alt: bytes, j: int) -> Tuple[_Item, int]:
    """The item of the group at ``alt[j] == '('``, and the index after it."""
    end = _group_end(alt, j)
    head = alt[j : j + 4]
    if head.startswith((b"(?<!", b"(?<=", b"(?=", b"(?!")):
        return _Item("zero", alt[j:end]), end
    if head.startswith(b"(?:"):
        return _Item("group", alt[j + 3 : end - 1]), end
    if head.startswith(b"(?"):  # inline flags, named groups, conditionals, atomic groups
        raise ValueError("extension group")
    return _Item("other", alt[j:end]), end  # a capturing group


def _items(alt: bytes) -> List[_Item]:
    """The items of one alternative (raises ValueError on what is not understood)."""
    items: List[_Item] = []
    j = 0
    while j < len(alt):
        c = alt[j]
        if c == 0x5C:  # backslash
            item, j = _escape(alt, j)
        elif c == 0x5B:  # [
            end = _class_end(alt, j)
            item, j = _Item("other", alt[j:end]), end
        elif c == 0x28:  # (
            item, j = _group(alt, j)
        elif c in b"^$":
            item, j = _Item("zero", alt[j : j + 1]), j + 1
        elif c == 0x2E:  # .
            item, j = _Item("other", alt[j : j + 1]), j + 1
        elif c in _META:  # a quantifier with nothing before it, ']', '{', '}', ')'
            raise ValueError("stray metacharacter")
        else:
            item, j = _Item("lit", alt[j : j + 1]), j + 1
        end = _quantifier(alt, j)
        if end != j:
            item = _Item(item.kind, item.source, alt[j:end])
            j = end
        items.append(item)
    return items


def _expand(items: List[_Item]) -> Optional[FrozenSet[bytes]]:
    """The finite set of strings a sequence of items matches, or None (not literal, too many)."""
    strings: FrozenSet[bytes] = frozenset({b""})
    for item in items:
        if item.kind == "lit":
            choices: Optional[FrozenSet[bytes]] = frozenset({item.source})
        elif item.kind == "group":
            choices = _expand_source(item.source)
        else:
            return None
        if choices is None:
            return None
        if item.quant in (b"?", b"??"):
            choices = choices | {b""}
        elif item.quant:
            return None
        strings = frozenset(s + c for s in strings for c in choices)
        if len(strings) > EXPANSION_LIMIT:
            return None
    return strings


def _expand_source(src: bytes) -> Optional[FrozenSet[bytes]]:
    out: FrozenSet[bytes] = frozenset()
    for alt in alternatives(src):
        got = _expand(_items(alt))
        if got is None:
            return None
        out |= got
        if len(out) > EXPANSION_LIMIT:
            return None
    return out


def _prefixes(items: List[_Item]) -> Optional[FrozenSet[bytes]]:
    """Literal prefixes one of which every match of the alternative consumes first (after its
    leading zero-width assertions), or None when there is no non-empty one."""
    k = 0
    while k < len(items) and items[k].kind == "zero" and not items[k].quant:
        if items[k].source in (b"^", b"$"):
            return None
        k += 1
    best: Optional[FrozenSet[bytes]] = None
    for end in range(k + 1, len(items) + 1):
        got = _expand(items[k:end])
        if got is None:
            break
        if len(got) > PREFIX_LIMIT:
            break
        if b"" not in got:
            best = got
    return best


@dataclass(frozen=True)
class AlternationSearch:
    """``search(data)`` is ``pattern.search(data) is not None`` for the pattern it was built from
    (see the module's docstring), with literals tested by ``in`` and the rest anchored on them."""

    literals: Tuple[bytes, ...]
    """An alternative matches iff one of these is in the data."""
    anchored: Tuple[Tuple[Tuple[bytes, ...], re.Pattern[bytes]], ...]
    """(prefixes, alternative): the alternative can only match where one prefix starts."""
    searched: Tuple[re.Pattern[bytes], ...]
    """Alternatives searched with their own regex (not understood here)."""

    @classmethod
    def of(cls, pattern: re.Pattern[bytes]) -> AlternationSearch:
        if pattern.flags & ~re.ASCII or not isinstance(pattern.pattern, bytes):
            return cls((), (), (pattern,))
        literals: List[bytes] = []
        anchored: List[Tuple[Tuple[bytes, ...], re.Pattern[bytes]]] = []
        searched: List[re.Pattern[bytes]] = []
        try:
            for alt in alternatives(pattern.pattern):
                items = _items(alt)
                whole = _expand(items)
                if whole is not None:
                    literals.extend(sorted(whole))
                    continue
                compiled = re.compile(alt, pattern.flags)
                prefixes = _prefixes(items)
                if prefixes is None:
                    searched.append(compiled)
                else:
                    anchored.append((tuple(sorted(prefixes)), compiled))
        except (ValueError, re.error):
            return cls((), (), (pattern,))
        return cls(tuple(dict.fromkeys(literals)), tuple(anchored), tuple(searched))

    def search(self, data: bytes) -> bool:
        for literal in self.literals:
            if literal in data:
                return True
        for prefixes, regex in self.anchored:
            for prefix in prefixes:
                at = data.find(prefix)
                while at >= 0:
                    if regex.match(data, at) is not None:
                        return True
                    at = data.find(prefix, at + 1)
        return any(regex.search(data) is not None for regex in self.searched)
