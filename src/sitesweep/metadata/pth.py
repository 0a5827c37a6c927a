"""``.pth`` files as text, split the way site.py would split them, without processing them."""

from __future__ import annotations

from typing import Tuple

from sitesweep.metadata.model import PthLine, PthLineKind

_EXEC_PREFIXES = ("import ", "import\t")


def parse_pth(text: str) -> Tuple[PthLine, ...]:
    """Split a .pth file into path lines and the lines site.py would ``exec``.

    Mirrors ``site.addpackage``: comment lines (``#`` first) and blank lines are skipped; a line
    starting with ``import`` followed by a space or tab is executed; every other line is a path.
    """
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("#") or not raw.strip():
            continue
        kind = PthLineKind.EXEC if raw.startswith(_EXEC_PREFIXES) else PthLineKind.PATH
        lines.append(PthLine(number, kind, raw if kind is PthLineKind.EXEC else raw.rstrip()))
    return tuple(lines)
