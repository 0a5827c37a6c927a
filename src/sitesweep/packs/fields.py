"""Typed field readers for pack loading, and the collector of the problems they find.

Every reader takes the table being read, the key, the dotted field name of that table (``where``,
``""`` at the top level) and a :class:`Problems` collector. It returns the value when it is valid;
otherwise it records each problem against the full dotted field name (``affected[0].severity``) and
returns ``None`` (or an empty result), so loading goes on and reports every problem at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Callable, FrozenSet, Iterable, List, Mapping, Optional, Tuple, Type, TypeVar

from sitesweep.errors import PackProblem
from sitesweep.model import Severity

Table = Mapping[str, object]
"""A decoded TOML table."""

Convert = Callable[[str, str, "Problems"], Optional[str]]
"""A value converter: ``(text, field name, problems)`` to normalised text, or ``None``."""

MISSING = object()
"""What :func:`get` returns for an absent key."""

_T = TypeVar("_T")

_ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_SEVERITIES = {severity.value: severity for severity in Severity}


class Problems:
    """Collects every problem found in one pack file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: List[PackProblem] = []

    def add(self, field: str, problem: str) -> None:
        """Record one problem about ``field``."""
        self.items.append(PackProblem(self.file, field, problem))


# --- names and messages --------------------------------------------------------------------------


def join(where: str, key: str) -> str:
    """Return the dotted field name of ``key`` inside ``where``."""
    return f"{where}.{key}" if where else key


def describe(value: object) -> str:
    """Name the TOML type of ``value`` for a message."""
    if isinstance(value, str):
        return "a string" if value.strip() else "an empty string"
    kinds: Tuple[Tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((label for kind, label in kinds if isinstance(value, kind)), type(value).__name__)


def quote(text: str, limit: int = 80) -> str:
    """Quote ``text`` for a message, shortened when long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."


def present(items: Iterable[Optional[_T]]) -> Tuple[_T, ...]:
    """Return the items that are not ``None``, in order."""
    return tuple(item for item in items if item is not None)


# --- keys ----------------------------------------------------------------------------------------


def get(table: Table, key: str, where: str, out: Problems, *, required: bool) -> object:
    """Return ``table[key]``, or :data:`MISSING` (recorded as a problem when ``required``)."""
    value = table.get(key, MISSING)
    if value is MISSING and required:
        out.add(join(where, key), "required field is missing")
    return value


def check_unknown(table: Table, allowed: FrozenSet[str], where: str, out: Problems) -> None:
    """Record every key of ``table`` that the format does not define."""
    for key in table:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            out.add(join(where, key), f"unknown field (expected one of: {expected})")


# --- scalars -------------------------------------------------------------------------------------


def as_string(value: object, name: str, out: Problems) -> Optional[str]:
    """Return ``value`` when it is a non-blank string."""
    if isinstance(value, str) and value.strip():
        return value
    out.add(name, f"expected a non-empty string, got {describe(value)}")
    return None


def string(table: Table, key: str, where: str, out: Problems) -> Optional[str]:
    """Return a required non-empty string field."""
    value = get(table, key, where, out, required=True)
    return None if value is MISSING else as_string(value, join(where, key), out)


def required(table: Table, key: str, where: str, out: Problems, convert: Convert) -> Optional[str]:
    """Return a required string field after ``convert``."""
    text = string(table, key, where, out)
    return None if text is None else convert(text, join(where, key), out)


def optional(table: Table, key: str, where: str, out: Problems, convert: Convert) -> Optional[str]:
    """Return an optional string field after ``convert``; ``None`` when absent."""
    if key not in table:
        return None
    return required(table, key, where, out, convert)


def ident(table: Table, key: str, where: str, out: Problems) -> Optional[str]:
    """Return a required id: lower-case letters, digits, ``.``, ``_`` and ``-``."""
    text = string(table, key, where, out)
    if text is not None and not _ID_RE.fullmatch(text):
        out.add(
            join(where, key),
            f"{quote(text)} is not a valid id (lower-case letters, digits, '.', '_', '-')",
        )
        return None
    return text


def boolean(table: Table, key: str, where: str, out: Problems, *, default: bool) -> bool:
    """Return an optional boolean field."""
    value = table.get(key, default)
    if isinstance(value, bool):
        return value
    out.add(join(where, key), f"expected true or false, got {describe(value)}")
    return default


def severity(table: Table, where: str, out: Problems) -> Optional[Severity]:
    """Return the required ``severity`` field as a :class:`Severity`."""
    text = string(table, "severity", where, out)
    if text is None:
        return None
    result = _SEVERITIES.get(text)
    if result is None:
        allowed = ", ".join(_SEVERITIES)
        out.add(join(where, "severity"), f"{quote(text)} is not a severity (one of: {allowed})")
    return result


def timestamp(table: Table, key: str, where: str, out: Problems) -> Optional[datetime]:
    """Return a required TOML offset date-time, converted to UTC."""
    expected = "a date-time such as 2026-03-24T10:39:24Z"
    value = _typed(table, key, where, out, datetime, expected, required=True)
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        out.add(join(where, key), "has no UTC offset; write it with 'Z' or '+HH:MM'")
        return None
    return value.astimezone(timezone.utc)


# --- tables and arrays ---------------------------------------------------------------------------


def table(
    doc: Table, key: str, where: str, out: Problems, allowed: FrozenSet[str], *, required: bool
) -> Optional[Table]:
    """Return a sub-table, after recording its unknown keys."""
    value = _typed(doc, key, where, out, dict, "a table", required=required)
    if value is not None:
        check_unknown(value, allowed, join(where, key), out)
    return value


def array(
    table: Table, key: str, where: str, out: Problems, *, required: bool
) -> List[Tuple[str, object]]:
    """Return ``(field name, item)`` for each item of an array; a required array is non-empty."""
    value = _typed(table, key, where, out, list, "an array", required=required)
    if value is None:
        return []
    name = join(where, key)
    if required and not value:
        out.add(name, "must not be empty")
    return [(f"{name}[{index}]", item) for index, item in enumerate(value)]


def _typed(
    table: Table,
    key: str,
    where: str,
    out: Problems,
    kind: Type[_T],
    expected: str,
    *,
    required: bool,
) -> Optional[_T]:
    """Return ``table[key]`` when it is a ``kind``; ``None`` when absent or of another type."""
    value = get(table, key, where, out, required=required)
    if value is MISSING:
        return None
    if isinstance(value, kind):
        return value
    out.add(join(where, key), f"expected {expected}, got {describe(value)}")
    return None


def strings(
    table: Table, key: str, where: str, out: Problems, *, required: bool
) -> List[Tuple[str, str]]:
    """Return ``(field name, text)`` for each valid item of an array of strings."""
    result = []
    for name, item in array(table, key, where, out, required=required):
        text = as_string(item, name, out)
        if text is not None:
            result.append((name, text))
    return result


def converted(
    table: Table, key: str, where: str, out: Problems, convert: Convert
) -> Tuple[str, ...]:
    """Return an optional array of strings, each passed through ``convert``."""
    items = strings(table, key, where, out, required=False)
    return present(convert(text, name, out) for name, text in items)


def table_array(
    doc: Table,
    key: str,
    out: Problems,
    allowed: FrozenSet[str],
    entry: Callable[[Table, str, Problems], Optional[_T]],
    *,
    required: bool,
) -> Tuple[_T, ...]:
    """Return each valid ``entry`` of a top-level array of tables.

    The shape of every item (a table, with known keys only) is checked first, then ``entry`` reads
    each table with its field name (``key[index]``) and returns ``None`` when it has problems.
    """
    tables: List[Tuple[str, Table]] = []
    for name, item in array(doc, key, "", out, required=required):
        if isinstance(item, dict):
            check_unknown(item, allowed, name, out)
            tables.append((name, item))
        else:
            out.add(name, f"expected a table, got {describe(item)}")
    return present(entry(item, name, out) for name, item in tables)
