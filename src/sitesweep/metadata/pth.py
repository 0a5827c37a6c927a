"""``.pth`` files as text, split the way site.py would split them, without processing them."""

from __future__ import annotations

from typing import List, Tuple

from sitesweep.metadata.model import PthLine, PthLineKind

_EXEC_PREFIXES = ("import ", "import\t")


def parse_pth(text: str, first: int = 1) -> Tuple[PthLine, ...]:
    """Split a .pth file into path lines and the lines site.py would ``exec``.

    Mirrors ``site.addpackage``: comment lines (``#`` first) and blank lines are skipped; a line
    starting with ``import`` followed by a space or tab is executed; every other line is a path.
    ``first`` is the number of the text's first line (a part of a larger file).
    """
    lines = []
    for number, raw in enumerate(text.splitlines(), first):
        if raw.startswith("#") or not raw.strip():
            continue
        kind = PthLineKind.EXEC if raw.startswith(_EXEC_PREFIXES) else PthLineKind.PATH
        lines.append(PthLine(number, kind, raw if kind is PthLineKind.EXEC else raw.rstrip()))
    return tuple(lines)


class PthStream:
    """Split a ``.pth`` read in chunks (one too large to read whole) the way :func:`parse_pth` does.

    Every line is kept until ``keep`` bytes of the file have been taken; after that only the
    lines ``site.py`` would execute are kept (padding a ``.pth`` past the size cap must not hide
    its ``import`` line), up to ``keep`` bytes of them. A line longer than ``keep`` is cut to
    ``keep`` characters. Memory stays within a few times ``keep`` whatever the file's size.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.lines: List[PthLine] = []
        self.dropped = 0
        """Executable lines seen after the exec budget was spent (not kept)."""
        self._taken = 0
        self._exec_kept = 0
        self._buffer = b""
        self._number = 1
        self._discarding = False

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the file."""
        if self._discarding:  # the rest of an over-long line
            cut = chunk.find(b"\n")
            if cut < 0:
                return
            self._discarding = False
            self._number += 1
            chunk = chunk[cut + 1 :]
        data = self._buffer + chunk if self._buffer else chunk
        cut = data.rfind(b"\n")
        if cut >= 0:
            self._take(data[: cut + 1])
            data = data[cut + 1 :]
        if len(data) > self.keep:  # one line longer than everything kept: keep its start
            self._take(data[: self.keep] + b"\n")
            self._number -= 1  # the line goes on; it is counted when its end comes
            self._discarding = True
            data = b""
        self._buffer = data

    def close(self) -> Tuple[PthLine, ...]:
        """The lines, once the whole file (or as much as was read) has been fed."""
        if self._buffer:
            self._take(self._buffer)
            self._buffer = b""
        return tuple(self.lines)

    def _take(self, block: bytes) -> None:
        text = block.decode("utf-8", "surrogateescape")
        count = len(text.splitlines())
        if self._taken < self.keep:
            self.lines.extend(parse_pth(text, self._number))
            self._taken += len(block)
        elif b"import" in block:
            for line in parse_pth(text, self._number):
                if line.kind is not PthLineKind.EXEC:
                    continue
                if self._exec_kept + len(line.text) > self.keep:
                    self.dropped += 1
                    continue
                self.lines.append(line)
                self._exec_kept += len(line.text)
        self._number += count
