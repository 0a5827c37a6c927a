"""Progress reporting from the library to whatever draws it (the CLI); the library never draws."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress from long stages."""

    def stage(self, name: str) -> None:
        """A new stage starts (``discover``, ``inventory``, ``match``, ``bundle``)."""

    def advance(self, count: int, note: str = "") -> None:
        """The current stage has handled ``count`` items so far."""


class NullProgress:
    """Progress that goes nowhere (the default)."""

    def stage(self, name: str) -> None:
        """Ignore a stage start."""

    def advance(self, count: int, note: str = "") -> None:
        """Ignore an advance."""
