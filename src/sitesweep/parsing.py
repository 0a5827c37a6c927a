"""Isolation per item: one guard around every parser of host data; a depth bound for nesting.

A hostile host can hand the scanner a 504-byte ``uv.lock`` of nested ``[`` (a ``RecursionError``
deep in ``tomllib``), a ``Pipfile.lock`` or ``direct_url.json`` of nested arrays, a name that is
not UTF-8, a number no ``datetime`` can hold. None of these may end the scan: each parse of one
item (one file, one entry) runs behind :func:`guarded`, which turns the errors a bounded input can
raise into a coverage gap naming the file and the reason, and the scan goes on.

Nested formats (JSON, TOML) are checked with :func:`check_depth` before they are parsed, so the
parsers' own recursion never gets near Python's limit: :data:`MAX_DEPTH` levels is far beyond any
real lockfile or metadata file (``uv.lock`` nests 4 deep).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

from sitesweep.model import Gap, GapReason, HostPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

__all__ = [
    "MAX_DEPTH",
    "PARSE_ERRORS",
    "TooDeepError",
    "check_depth",
    "guarded",
    "loads_json",
    "loads_toml",
]

MAX_DEPTH = 64
"""Deepest nesting of arrays and tables/objects parsed; deeper input is refused as a gap."""

PARSE_ERRORS: Tuple[Type[BaseException], ...] = (
    RecursionError,
    UnicodeError,
    ValueError,
    OverflowError,
    MemoryError,
)
"""What a parser may raise on bounded hostile input (``TOMLDecodeError`` and ``JSONDecodeError``
are ``ValueError``\\ s)."""

_T = TypeVar("_T")

_SKIP = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
"""Strings and comments, whose brackets do not nest (TOML's four string kinds cover JSON's)."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class TooDeepError(ValueError):
    """Nested deeper than :data:`MAX_DEPTH` (a ``ValueError``: one of :data:`PARSE_ERRORS`)."""


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeepError` when ``text`` nests ``[``/``{`` deeper than ``limit``.

    Brackets inside strings and comments do not count. Linear in the input; the loop runs over
    the brackets only.
    """
    if text.count("[") + text.count("{") <= limit:
        return
    brackets = _NOT_BRACKET.sub("", _SKIP.sub("", text))
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > limit:
                raise TooDeepError(f"nested deeper than {limit} levels")
        elif depth:
            depth -= 1


def loads_json(text: str) -> Any:
    """``json.loads`` after :func:`check_depth` (raises ``ValueError`` only)."""
    check_depth(text)
    return json.loads(text)


def loads_toml(text: str) -> Dict[str, Any]:
    """``tomllib.loads`` after :func:`check_depth` (raises ``ValueError`` only)."""
    check_depth(text)
    return tomllib.loads(text)


def guarded(
    area: str,
    path: Optional[str],
    gaps: List[Gap],
    default: _T,
    parse: Callable[..., _T],
    *args: Any,
) -> _T:
    """Return ``parse(*args)``; on any of :data:`PARSE_ERRORS` record a gap, return ``default``.

    Args:
        area: the gap's area (the collector or parser: ``lockfiles``, ``inventory``...).
        path: the host path of the item parsed (the gap names it).
        gaps: receives the gap.
        default: what the caller gets instead when the parse failed.
        parse: the parse of one item, called with ``args``.
    """
    try:
        return parse(*args)
    except PARSE_ERRORS as exc:
        detail = f"parse failed: {type(exc).__name__}: {_message(exc)}"
        gaps.append(Gap(area, HostPath(path) if path else None, GapReason.PARSE_ERROR, detail))
        return default


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot be rendered is no reason to stop
        text = "(message unavailable)"
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= 200 else text[:200] + "..."
