"""Progress reporting from the library to whatever draws it (the CLI); the library never draws."""

from __future__ import annotations

from contextlib import nullcontext
from typing import ContextManager, Protocol


class Progress(Protocol):
    """Receives progress from long stages."""

    def stage(self, name: str) -> None:
        """A new stage starts (``discover``, ``inventory``, ``match``, ``bundle``)."""

    def advance(self, count: int, note: str = "") -> None:
        """The current stage has handled ``count`` items so far."""

    def hold(self) -> ContextManager[None]:
        """While the block runs, no thread of the drawer runs (a worker process is being
        forked: a lock a drawing thread held would stay held in the worker)."""


class NullProgress:
    """Progress that goes nowhere (the default)."""

    def stage(self, name: str) -> None:
        """Ignore a stage start."""

    def advance(self, count: int, note: str = "") -> None:
        """Ignore an advance."""

    def hold(self) -> ContextManager[None]:
        """Nothing draws: nothing to hold."""
        return nullcontext()
