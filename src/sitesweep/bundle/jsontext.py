"""Bundle JSON text, fast and streamed: the bytes ``json.dumps`` wrote, without its slow path.

The bundle's JSON files are ``json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=True)`` of
the model turned into plain dicts and lists (:func:`sitesweep.bundle.serialize.dumps`). With an
indent, the standard library encodes in pure Python, one generator step per token, and keeps
every token in a list until the end: on a large host that list and the plain-dict tree cost more
memory than the inventory itself. This module writes the same text (byte for byte) straight from
the model objects: strings through the C escaper, containers joined per level, and, for a
document given as a :class:`JsonArray` or a mapping of them, in pieces a caller can write as they
come (one piece per array item), so neither the whole document nor its plain tree ever exists.

Model objects are encoded as ``serialize._plain`` would turn them into plain data: a dataclass as
an object of its fields, an enum as its value, tuples as arrays, sets sorted, dict keys as strings.
``tests/bundle/test_jsontext.py`` checks the equivalence with the standard library.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from json.encoder import encode_basestring_ascii
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple

_STEP = "  "
"""One indent level (``indent=2``)."""


class JsonArray:
    """A JSON array whose items are produced on demand, so the whole list is never held.

    Args:
        items: the items (model objects or plain values), iterated once when encoded.
    """

    def __init__(self, items: Iterable[object]) -> None:
        self.items = items


class Replaced:
    """A dataclass encoded with some fields replaced (``dataclasses.replace`` without the copy).

    Args:
        value: the dataclass instance.
        changes: field name -> the value to encode instead.
    """

    def __init__(self, value: object, **changes: object) -> None:
        self.value = value
        self.changes = changes


class Shared:
    """A value that recurs in a document (the same RECORD rows in 20 installs of a release):
    encoded once per indentation, its text reused.

    Args:
        value: the value.
        texts: its text by indentation, one mapping shared by every :class:`Shared` of the
            same value (the caller keeps it for as long as the document is written).
    """

    def __init__(self, value: object, texts: Dict[str, str]) -> None:
        self.value = value
        self.texts = texts


def _shared(value: Shared, nl: str) -> str:
    text = value.texts.get(nl)
    if text is None:
        text = value.texts[nl] = encode(value.value, nl)
    return text


_Fields = Tuple[Tuple[str, str], ...]
"""A dataclass's fields sorted by name, each with its ``"name": `` text."""

_KINDS: Dict[type, Any] = {}
"""Type -> how to encode it: a kind name, or a dataclass's :data:`_Fields`."""


_BASES: Tuple[Tuple[Any, str], ...] = (
    (Enum, "enum"),
    ((list, tuple), "seq"),
    ((set, frozenset), "set"),
    (dict, "dict"),
    (JsonArray, "array"),
    (Replaced, "replaced"),
    (Shared, "shared"),
    (str, "str"),
    (int, "int"),
    (float, "float"),
)
"""Kinds of the classes that are not dataclasses, by base class, in the order they are tried."""


def _kind(cls: type) -> Any:
    """How to encode ``cls``: the order of ``serialize._plain``'s checks, then json's own."""
    kind = _KINDS.get(cls)
    if kind is not None:
        return kind
    if dataclasses.is_dataclass(cls):
        names = sorted(f.name for f in dataclasses.fields(cls))
        kind = tuple((n, encode_basestring_ascii(n) + ": ") for n in names)
    else:
        kind = next((k for base, k in _BASES if issubclass(cls, base)), None)
        if kind is None:
            raise TypeError(f"Object of type {cls.__name__} is not JSON serializable")
    _KINDS[cls] = kind
    return kind


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


_INF = float("inf")


def _members(value: object, fields: _Fields, nl: str, changes: Dict[str, object]) -> str:
    """A dataclass as an object, its fields sorted by name (``changes`` replace some)."""
    if not fields:
        return "{}"
    inner = nl + _STEP
    esc = encode_basestring_ascii
    parts = []
    for name, prefix in fields:
        item = changes[name] if name in changes else getattr(value, name)
        if item.__class__ is str:
            parts.append(prefix + esc(item))
        elif item is None:
            parts.append(prefix + "null")
        else:
            parts.append(prefix + encode(item, inner))
    return "{" + inner + ("," + inner).join(parts) + nl + "}"


_NO_CHANGES: Dict[str, object] = {}


def _replaced(value: Replaced, nl: str) -> str:
    return _members(value.value, _kind(type(value.value)), nl, value.changes)


def _seq(items: Iterable[object], nl: str) -> str:
    inner = nl + _STEP
    esc = encode_basestring_ascii
    parts = [esc(v) if v.__class__ is str else encode(v, inner) for v in items]
    if not parts:
        return "[]"
    return "[" + inner + ("," + inner).join(parts) + nl + "]"


def _dict(value: Any, nl: str) -> str:
    if not value:
        return "{}"
    if {*map(type, value)} != _STR_ONLY:  # serialize._plain turns keys into strings
        value = {str(k): v for k, v in value.items()}
    inner = nl + _STEP
    esc = encode_basestring_ascii
    parts = []
    for key in sorted(value):  # json's sort_keys (keys are unique: values never compared)
        item = value[key]
        parts.append(
            esc(key) + ": " + (esc(item) if item.__class__ is str else encode(item, inner))
        )
    return "{" + inner + ("," + inner).join(parts) + nl + "}"


_STR_ONLY = {str}


def _plain_set(value: Iterable[object]) -> List[Any]:
    from sitesweep.bundle.serialize import _plain  # here: serialize imports this module

    return sorted(_plain(v) for v in value)


def encode(value: object, nl: str = "\n") -> str:
    """``value`` as the indented JSON text ``serialize.dumps`` writes, without its final newline.

    Args:
        value: a model object (frozen dataclasses, enums, tuples, scalars) or plain data.
        nl: a newline followed by the indentation of the line ``value`` starts on.
    """
    cls = value.__class__
    if cls is str:
        return encode_basestring_ascii(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return int.__repr__(value)
    if cls is float:
        return _float(value)  # type: ignore[arg-type]
    kind = _KINDS.get(cls) or _kind(cls)
    if kind.__class__ is tuple:  # a dataclass: its fields, sorted by name
        return _members(value, kind, nl, _NO_CHANGES)
    return _ENCODERS[kind](value, nl)


_ENCODERS: Dict[str, Callable[[Any, str], str]] = {
    "enum": lambda v, nl: encode(v.value, nl),  # serialize._plain stops at the value
    "seq": _seq,
    "array": lambda v, nl: _seq(v.items, nl),
    "replaced": _replaced,
    "shared": _shared,
    "set": lambda v, nl: _seq(_plain_set(v), nl),
    "dict": _dict,
    "str": lambda v, nl: encode_basestring_ascii(v),
    "int": lambda v, nl: int.__repr__(v),
    "float": lambda v, nl: _float(v),
}


def dumps(value: object) -> str:
    """The whole document, newline-terminated (what ``serialize.dumps`` returns)."""
    return encode(value) + "\n"


def chunks(value: object, nl: str = "\n") -> Iterator[str]:
    """The text of :func:`dumps` in pieces: a :class:`JsonArray` one item at a time.

    A mapping (``dict``) whose values include :class:`JsonArray` is streamed key by key; any other
    value is one piece. Joined, the pieces are exactly ``dumps(value)`` without the final newline.
    """
    if isinstance(value, JsonArray):
        yield from _array_chunks(value.items, nl)
    elif type(value) is dict and any(isinstance(v, JsonArray) for v in value.values()):
        yield from _dict_chunks(value, nl)
    else:
        yield encode(value, nl)


def _array_chunks(items: Iterable[object], nl: str) -> Iterator[str]:
    inner = nl + _STEP
    opening = "[" + inner
    for item in items:
        yield opening + encode(item, inner)
        opening = "," + inner
    yield "[]" if opening.startswith("[") else nl + "]"


def _dict_chunks(value: Dict[str, object], nl: str) -> Iterator[str]:
    inner = nl + _STEP
    opening = "{" + inner
    for key in sorted(value):
        yield opening + encode_basestring_ascii(key) + ": "
        yield from chunks(value[key], inner)
        opening = "," + inner
    yield "{}" if opening.startswith("{") else nl + "}"
