"""The one rich Console (on stderr) and the progress display that implements Progress."""

from __future__ import annotations

import logging
from typing import Optional

from rich.console import Console
from rich.progress import Progress as RichProgressBar
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

stderr = Console(stderr=True)
"""Progress, logs, the verdict and tables go to stderr; stdout is for ``--json`` only."""


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
            self._bar.update(self._task, completed=count, note=note[-60:])
