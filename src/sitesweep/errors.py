"""The exception tree: everything sitesweep raises on purpose derives from SitesweepError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sitesweep.model import GapReason


class SitesweepError(Exception):
    """Base of every error sitesweep raises deliberately; the CLI maps it to exit code 2."""


@dataclass(frozen=True)
class PackProblem:
    """One problem in a signature pack: which file, which field, what is wrong."""

    file: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.problem}"


class PackError(SitesweepError):
    """A signature pack is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[PackProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid signature pack ({len(self.problems)} problem(s)):\n{lines}")


class RootError(SitesweepError):
    """The scan root does not exist or is not a directory."""


class OutputError(SitesweepError):
    """The output location cannot be written."""


class HostReadError(SitesweepError):
    """A file on the scanned host could not be read safely; becomes a coverage gap."""

    def __init__(self, path: str, reason: GapReason, detail: str) -> None:
        self.path = path
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class BundleError(SitesweepError):
    """A bundle is malformed, altered, or unsafe to open."""


class OsvImportError(SitesweepError):
    """OSV records could not be turned into a pack (unreadable input, nothing to import, output)."""
