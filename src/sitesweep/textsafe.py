r"""The one escape for text that reaches a terminal or a rendered document.

Names from the filesystem are bytes. sitesweep carries them losslessly (a ``str`` with surrogate
escapes for bytes that are not UTF-8; the bundle's own JSON documents, ``inventory.json``,
``findings.json``, ``coverage.json`` and ``evidence/index.json``, hold them with JSON's ``\uXXXX``
escapes, ASCII bytes, so ``os.fsencode`` of a path read back is the host's bytes) and renders them
with one escape, :func:`printable`, wherever they are shown: the terminal, ``report.txt``,
``report.html``, every CSV, the SBOM, SARIF, the ECS and timeline JSONL (:func:`printable_tree`
for a JSON document, one call at its serialisation). The same name therefore reads the same in
every rendered document (``caf\xe9-1.0.dist-info``, ``evil\x1b[2J.pth``, ``nl\nfake.pth``), and
:func:`printable` is idempotent: a name rendered twice (a bundle's rendered text read back) reads
the same.

Every string from the host, a bundle or a pack passes through :func:`printable` before it is
printed or written to ``report.txt``: control characters (ESC, CSI/OSC starters, BEL, backspace,
carriage return, newline...), the C1 range, Unicode line and paragraph separators and the
bidirectional overrides are shown as escapes (``\x1b``, ``\n``, ``\u202e``), so a file name can
neither colour, retitle or clear the terminal nor forge a line of a report. Bytes that were not
UTF-8 on the host (carried as surrogate escapes) are shown as ``\xNN``.
"""

from __future__ import annotations

import re
from typing import Any, FrozenSet

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
    if text.isascii() and text.isprintable():  # most strings: nothing to escape
        return text
    return _UNSAFE.sub(_escape, text)


def printable_prose(text: str) -> str:
    """A multi-line text (a pack's remediation) with each line escaped and ``\n`` kept."""
    return "\n".join(printable_lines(text))


def printable_tree(value: Any, prose: FrozenSet[str] = frozenset()) -> Any:
    """A JSON-able document with every string, keys included, through :func:`printable`.

    Strings below a key named in ``prose`` (a pack's multi-line remediation) keep their line
    breaks, each line escaped (:func:`printable_prose`). Numbers, booleans and ``None`` are
    returned as they are; tuples become lists (as ``json`` writes them).
    """
    return _tree(value, prose, False)


def _tree(value: Any, prose: FrozenSet[str], lines: bool) -> Any:
    if isinstance(value, str):
        return printable_prose(value) if lines else printable(value)
    if isinstance(value, dict):
        return {
            printable(k) if isinstance(k, str) else k: _tree(v, prose, lines or k in prose)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_tree(v, prose, lines) for v in value]
    return value


def printable_lines(text: str) -> list[str]:
    """A multi-line text (a pack's remediation) as escaped lines: only ``\\n`` breaks a line."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    return [printable(line.rstrip()) for line in lines]
