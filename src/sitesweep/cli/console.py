"""The one rich Console (on stderr) and the progress display that implements Progress."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

from rich.console import Console
from rich.progress import Progress as RichProgressBar
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.segment import Segment

from sitesweep.textsafe import printable, printable_lines


class SafeConsole(Console):
    """A rich Console that cannot pass a control character it did not make itself.

    Every text segment is scrubbed just before output (:func:`scrub`): rich's own styling
    travels in separate control segments and styles, so colours still work, while an ESC, OSC
    or BEL inside any printed value (a file name, a manifest field, a pack title, a log
    message) is shown as ``\x1b``. Values should still go through :func:`safe` (which also
    escapes newlines); this is the net under it.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            seg if seg.control else Segment(scrub(seg.text), seg.style) for seg in buffer
        )


def scrub(text: str) -> str:
    """:func:`printable` for each line of ``text``: only its line breaks are kept."""
    if text.isprintable():
        return text
    return "\n".join(printable(part) for part in text.split("\n"))


stderr = SafeConsole(stderr=True)


def stdout() -> Console:
    """A console on stdout for results (tables), made when asked so tests' captures see it."""
    return SafeConsole(highlight=False)


"""Progress, logs and messages go to stderr; results (verdict, findings, tables) to stdout."""


def setup_logging(verbosity: int) -> None:
    """Send library logs to stderr through rich; ``-v`` shows info, ``-vv`` debug."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(message)s", handlers=[_FirstRecordRichHandler()])


class _FirstRecordRichHandler(logging.Handler):
    """Hands records to a rich ``RichHandler`` on stderr, created when the first one arrives.

    ``rich.logging`` imports rich's traceback renderer and pygments (about 15 ms), and most runs
    log nothing at the default level; the records that do arrive look exactly as before.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rich: Optional[logging.Handler] = None

    def emit(self, record: logging.LogRecord) -> None:
        """Create the rich handler (with this handler's formatter) once, then pass the record."""
        record.msg = printable(record.getMessage())  # paths and names from the host, escaped
        record.args = None
        if self._rich is None:
            from rich.logging import RichHandler

            self._rich = RichHandler(console=stderr, show_path=False)
            self._rich.setFormatter(self.formatter)
        self._rich.emit(record)


class RichProgress:
    """A spinner per stage with a running count; silent when stderr is not a terminal."""

    def __init__(self, console: Console = stderr) -> None:
        self._bar = RichProgressBar(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed:>8.0f}"),
            TextColumn("[dim]{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task: Optional[TaskID] = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def stage(self, name: str) -> None:
        """Start a new stage line."""
        if self._task is not None:
            self._bar.update(self._task, visible=False)
        self._task = self._bar.add_task(name, total=None, note="")

    def advance(self, count: int, note: str = "") -> None:
        """Show the stage's count so far."""
        if self._task is not None:
            self._bar.update(self._task, completed=count, note=safe(note[-60:]))

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Stop the refresh thread while the block runs (a worker is forked), then draw again."""
        drawing = self._bar.live.is_started
        if drawing:
            # rich's stop() only asks its refresh thread to end; wait for it (if rich ever keeps
            # it elsewhere, it still runs and the worker is not forked: the work runs inline)
            refresher = getattr(self._bar.live, "_refresh_thread", None)
            self._bar.stop()
            if isinstance(refresher, threading.Thread):
                refresher.join(timeout=5)
        try:
            yield
        finally:
            if drawing:
                self._bar.start()


def safe(value: object) -> str:
    """A value from the host, a bundle or a pack, ready for rich markup: control characters
    shown as escapes (:func:`sitesweep.textsafe.printable`), then markup brackets escaped."""
    from rich.markup import escape

    return escape(printable(value))


def safe_text(text: str) -> str:
    """:func:`safe` for a multi-line text (a pack's remediation): only its newlines kept."""
    from rich.markup import escape

    return "\n".join(escape(line) for line in printable_lines(text))
