"""A small TOML writer for generated packs: comments, tables, strings, integers, string arrays.

The standard library reads TOML but cannot write it, and the format needs only a few value types,
so this writes them itself rather than adding a dependency. Every string is written as a TOML
basic string with every character TOML forbids escaped; comment text from untrusted input is
made safe too. Callers read the result back with the pack loader, which is the final check.
"""

from __future__ import annotations

import re
from typing import List, Sequence, Union

__all__ = ["TomlWriter", "toml_string"]

Value = Union[str, int, bool, Sequence[str]]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_REPLACEMENT = "\ufffd"


def toml_string(text: str) -> str:
    """Return ``text`` as a TOML basic string (double-quoted, escaped).

    Control characters become ``\\uXXXX`` escapes; lone surrogates, which no TOML string may
    hold, become U+FFFD.
    """
    return '"' + "".join(_escape(char) for char in text) + '"'


def _escape(char: str) -> str:
    """Return the TOML basic-string form of one character."""
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\u{code:04X}"
    if 0xD800 <= code <= 0xDFFF:
        return _REPLACEMENT
    return char


def _comment_text(text: str) -> str:
    """Return ``text`` with the characters a TOML comment may not hold replaced."""
    return "".join(
        _REPLACEMENT
        if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF
        else c
        for c in text
    )


def _key(name: str) -> str:
    """Return ``name`` as a bare key, or quoted when it holds other characters."""
    return name if _BARE_KEY.fullmatch(name) else toml_string(name)


def _value(value: Value) -> str:
    """Return the TOML form of one value (one line, or a multi-line array)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    items = [toml_string(item) for item in value]
    if len(items) <= 1:
        return "[" + "".join(items) + "]"
    return "[\n" + "".join(f"    {item},\n" for item in items) + "]"


class TomlWriter:
    """Builds a TOML document line by line, in the order the calls are made.

    Top-level keys must be written before the first table header (a TOML rule this class does
    not enforce: the loader reports it).
    """

    def __init__(self) -> None:
        self._lines: List[str] = []

    def comment(self, text: str) -> None:
        """Write ``text`` as ``#`` comment lines (one per line of ``text``)."""
        for line in text.splitlines() or [""]:
            self._lines.append(f"# {_comment_text(line)}".rstrip())

    def blank(self) -> None:
        """Write an empty line."""
        self._lines.append("")

    def value(self, key: str, value: Value) -> None:
        """Write ``key = value``."""
        self._lines.append(f"{_key(key)} = {_value(value)}")

    def table(self, name: str) -> None:
        """Write a ``[name]`` table header."""
        self._lines.append(f"[{_key(name)}]")

    def array_table(self, name: str) -> None:
        """Write a ``[[name]]`` array-of-tables header."""
        self._lines.append(f"[[{_key(name)}]]")

    def text(self) -> str:
        """Return the document, ending in one newline."""
        return "\n".join(self._lines).rstrip("\n") + "\n"
