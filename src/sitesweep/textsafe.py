"""The one escape for text that reaches a terminal or a text file.

Every string from the host, a bundle or a pack passes through :func:`printable` before it is
printed or written to ``report.txt``: control characters (ESC, CSI/OSC starters, BEL, backspace,
carriage return, newline...), the C1 range, Unicode line and paragraph separators and the
bidirectional overrides are shown as escapes (``\\x1b``, ``\\n``, ``\\u202e``), so a file name can
neither colour, retitle or clear the terminal nor forge a line of a report. Bytes that were not
UTF-8 on the host (carried as surrogate escapes) are shown as ``\\xNN``.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ufeff\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(value: object) -> str:
    """``str(value)`` with every character that could act on a terminal shown as an escape."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> list[str]:
    """A multi-line text (a pack's remediation) as escaped lines: only ``\\n`` breaks a line."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    return [printable(line.rstrip()) for line in lines]
