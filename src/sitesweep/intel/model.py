"""What a package index said about a bundle's releases: plain types, no I/O, cheap to import.

Checks read these (:class:`IndexWitness` in the check context); :mod:`sitesweep.intel.witness`
fills them on the analyst's machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from sitesweep.model import Gap, HostPath, StrEnum


@dataclass(frozen=True)
class Exchange:
    """One question to the index and its answer, for the custody log.

    Attributes:
        time: when it was asked (UTC, ISO 8601).
        url: the URL asked (or the store file read, for a snapshot).
        source: ``network``, ``cache`` or ``snapshot``.
        status: the HTTP status (``None`` for a store read or a failed connection).
        size: bytes received.
        sha256: SHA-256 of what was received.
        error: why there was no usable answer, if there was none.
    """

    time: str
    url: str
    source: str
    status: Optional[int]
    size: int
    sha256: Optional[str]
    error: Optional[str] = None


class ReleaseState(StrEnum):
    """What the index says of an installed (name, version)."""

    PUBLISHED = "published"
    YANKED = "yanked"
    GONE = "gone"
    """The project is on the index, this version is not: removed or never published there."""
    PROJECT_MISSING = "project-missing"
    """The index does not know the project (private, local, or removed whole)."""


@dataclass(frozen=True)
class FileMismatch:
    """An installed file whose RECORD hash differs from the published wheel's."""

    path: str
    installed: str
    published: str


@dataclass(frozen=True)
class ReleaseWitness:
    """What the index says of one installed distribution.

    Attributes:
        distribution: the ``.dist-info`` path.
        name, version: as installed.
        state: published, yanked, gone or project missing.
        yanked_reason: the index's reason for a yank, if given.
        other_versions: how many other versions of the project the index lists.
        wheel: the published wheel the installed files were compared with, if any.
        compared: installed RECORD rows compared with that wheel's RECORD.
        differing: rows whose hashes differ.
    """

    distribution: HostPath
    name: str
    version: str
    state: ReleaseState
    yanked_reason: Optional[str] = None
    other_versions: int = 0
    wheel: Optional[str] = None
    compared: int = 0
    differing: Tuple[FileMismatch, ...] = ()


@dataclass(frozen=True)
class IndexWitness:
    """Everything the index said about a bundle, and what it could not say.

    Attributes:
        index: the index URL or snapshot directory asked.
        releases: one entry per installed distribution the index was asked about.
        exchanges: every request and answer (custody log).
        gaps: what could not be asked or answered.
    """

    index: str
    releases: Tuple[ReleaseWitness, ...]
    exchanges: Tuple[Exchange, ...]
    gaps: Tuple[Gap, ...]
