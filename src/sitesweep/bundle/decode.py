"""JSON back to the model: rebuild frozen dataclasses from a bundle's plain data.

Driven by the dataclasses' own type hints, so a field added to an observation type is read back
without touching this module. Input is a possibly hostile bundle: every mismatch raises
:class:`BundleError` naming the field path, never a bare ``TypeError`` or ``KeyError``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
import typing
from enum import Enum
from typing import Any, Dict, Type, TypeVar, Union

from sitesweep.errors import BundleError

T = TypeVar("T")

_NONE_TYPE = type(None)

JSON_DEPTH = 64
"""Deepest nesting a bundle document may have (the real ones nest fewer than 10 levels)."""

NUMBER_LIMIT = 2**63
"""Largest magnitude of a number in a bundle (a 64-bit field: sizes, uids, times); NaN and
infinities are refused as well."""


@functools.cache
def _hints(cls: type) -> Dict[str, Any]:
    """The resolved type hints of a dataclass, worked out once per class (a bundle's inventory
    holds thousands of objects of a few dozen classes; resolving them each time was most of the
    cost of reading it)."""
    module = sys.modules[cls.__module__]
    return typing.get_type_hints(cls, vars(module))


def _decode(tp: Any, value: Any, where: str) -> Any:  # noqa: C901 - one branch per type form
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None and _NONE_TYPE in args:
            return None
        options = [a for a in args if a is not _NONE_TYPE]
        return _decode(options[0], value, where)
    if origin in (tuple, typing.Tuple):
        if not isinstance(value, list):
            raise BundleError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise BundleError(f"{where}: expected an object")
        return {str(k): _decode(args[1], v, f"{where}[{k!r}]") for k, v in value.items()}
    if origin in (frozenset, typing.FrozenSet):
        if not isinstance(value, list):
            raise BundleError(f"{where}: expected a list")
        return frozenset(_decode(args[0], v, f"{where}[]") for v in value)
    supertype = getattr(tp, "__supertype__", None)  # NewType
    if supertype is not None:
        return _decode(supertype, value, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_plain(tp, value, where)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError as exc:
            raise BundleError(f"{where}: {value!r} is not a valid {tp.__name__}") from exc
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError as exc:  # a JSON integer of hundreds of digits
            raise BundleError(f"{where}: number out of range for a float") from exc
        if not math.isfinite(number) or abs(number) > NUMBER_LIMIT:
            raise BundleError(f"{where}: {value!r} is out of range (at most {NUMBER_LIMIT:g})")
        return number
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > NUMBER_LIMIT:
            raise BundleError(f"{where}: {value} is out of range (at most {NUMBER_LIMIT:g})")
        return value
    if (
        isinstance(tp, type)
        and isinstance(value, tp)
        and not (tp is int and isinstance(value, bool))
    ):
        return value
    raise BundleError(
        f"{where}: expected {getattr(tp, '__name__', tp)}, got {type(value).__name__}"
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a bundle may hold")


def parse_json(data: bytes, where: str) -> Any:
    """Parse one bundle document: UTF-8, nested at most :data:`JSON_DEPTH` levels, no NaN or
    Infinity (``1e400`` is refused later, by the typed decoding).

    Raises:
        BundleError: naming ``where`` and the reason.
    """
    from sitesweep.parsing import check_depth

    try:
        text = data.decode("utf-8")
        check_depth(text, JSON_DEPTH)
        return json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        raise BundleError(f"{where}: {exc}") from exc


def from_plain(cls: Type[T], data: Any, where: str = "$") -> T:
    """Build a ``cls`` dataclass from JSON data, checking every field's type.

    Raises:
        BundleError: a field is missing or has the wrong type.
    """
    if not isinstance(data, dict):
        raise BundleError(f"{where}: expected an object for {cls.__name__}")
    hints = _hints(cls)  # type: ignore[arg-type] # a class is hashable
    kwargs: Dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init:
            continue
        if field.name not in data:
            if field.default is not dataclasses.MISSING:
                continue
            if field.default_factory is not dataclasses.MISSING:
                continue
            raise BundleError(f"{where}.{field.name}: missing")
        kwargs[field.name] = _decode(hints[field.name], data[field.name], f"{where}.{field.name}")
    return cls(**kwargs)
