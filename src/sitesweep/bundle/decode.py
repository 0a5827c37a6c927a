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
from typing import Any, Callable, Dict, Tuple, Type, TypeVar, Union

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


Decoder = Callable[[Any, str], Any]
"""Turns one JSON value (and the field path it was found at) into its typed value."""


def _decode(tp: Any, value: Any, where: str) -> Any:
    return _decoder(tp)(value, where)


def _fail(tp: Any, value: Any, where: str) -> BundleError:
    return BundleError(
        f"{where}: expected {getattr(tp, '__name__', tp)}, got {type(value).__name__}"
    )


@functools.cache
def _decoder(tp: Any) -> Decoder:  # noqa: C901 - one branch per type form
    """The decoder of one type, worked out once (a bundle decodes thousands of values of a few
    dozen types: asking ``typing`` about each type for each value was most of the work)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return _as_is
    if origin is Union:
        optional = _NONE_TYPE in args
        first = next(a for a in args if a is not _NONE_TYPE)

        def union(value: Any, where: str) -> Any:
            if value is None and optional:
                return None
            return _decoder(first)(value, where)

        return union
    if origin in (tuple, typing.Tuple):
        return _tuple_decoder(args)
    if origin in (dict, typing.Dict):
        values = args[1]

        def mapping(value: Any, where: str) -> Any:
            if not isinstance(value, dict):
                raise BundleError(f"{where}: expected an object")
            item = _decoder(values)
            return {str(k): item(v, f"{where}[{k!r}]") for k, v in value.items()}

        return mapping
    if origin in (frozenset, typing.FrozenSet):
        member = args[0]

        def frozen(value: Any, where: str) -> Any:
            if not isinstance(value, list):
                raise BundleError(f"{where}: expected a list")
            item = _decoder(member)
            return frozenset(item(v, f"{where}[]") for v in value)

        return frozen
    supertype = getattr(tp, "__supertype__", None)  # NewType
    if supertype is not None:
        return _decoder(supertype)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return functools.partial(from_plain, tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return functools.partial(_enum, tp)
    if tp is float:
        return _float
    if tp is int:
        return _int
    if isinstance(tp, type):

        def plain(value: Any, where: str) -> Any:
            if isinstance(value, tp):
                return value
            raise _fail(tp, value, where)

        return plain
    return functools.partial(_never, tp)


def _as_is(value: Any, where: str) -> Any:
    return value


def _never(tp: Any, value: Any, where: str) -> Any:
    raise _fail(tp, value, where)


def _tuple_decoder(args: Tuple[Any, ...]) -> Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        member = args[0]

        def variable(value: Any, where: str) -> Any:
            if not isinstance(value, list):
                raise BundleError(f"{where}: expected a list")
            item = _decoder(member)
            return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

        return variable

    def fixed(value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise BundleError(f"{where}: expected a list")
        return tuple(_decoder(a)(v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))

    return fixed


def _enum(tp: Type[Enum], value: Any, where: str) -> Any:
    try:
        return tp(value)
    except ValueError as exc:
        raise BundleError(f"{where}: {value!r} is not a valid {tp.__name__}") from exc


def _float(value: Any, where: str) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError as exc:  # a JSON integer of hundreds of digits
            raise BundleError(f"{where}: number out of range for a float") from exc
        if not math.isfinite(number) or abs(number) > NUMBER_LIMIT:
            raise BundleError(f"{where}: {value!r} is out of range (at most {NUMBER_LIMIT:g})")
        return number
    raise _fail(float, value, where)


def _int(value: Any, where: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > NUMBER_LIMIT:
            raise BundleError(f"{where}: {value} is out of range (at most {NUMBER_LIMIT:g})")
        return value
    raise _fail(int, value, where)


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
    kwargs: Dict[str, Any] = {}
    for name, hint, required in _fields(cls):  # type: ignore[arg-type] # a class is hashable
        if name not in data:
            if required:
                raise BundleError(f"{where}.{name}: missing")
            continue
        kwargs[name] = _decoder(hint)(data[name], f"{where}.{name}")
    return cls(**kwargs)


@functools.cache
def _fields(cls: type) -> Tuple[Tuple[str, Any, bool], ...]:
    """(name, type, required) of each field ``cls.__init__`` takes, worked out once."""
    hints = _hints(cls)
    return tuple(
        (
            field.name,
            hints[field.name],
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
        )
        for field in dataclasses.fields(cls)
        if field.init
    )
