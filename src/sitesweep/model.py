"""Shared vocabulary: severities, host paths, coverage gaps, findings.

Every check produces the same :class:`Finding`; every collector records what it could not read as a
:class:`Gap`. Both are frozen dataclasses so they can be compared, hashed, sorted and serialised
without surprises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import NewType, Optional, Tuple

HostPath = NewType("HostPath", str)
"""A path as the scanned host sees it (POSIX form, ``--root`` prefix stripped)."""


class StrEnum(str, Enum):
    """A str-valued enum that prints as its value on every Python version."""

    def __str__(self) -> str:
        return str(self.value)


class Severity(StrEnum):
    """How urgent a finding is; ordered from most to least severe."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Return a number that grows with severity (info 0 ... critical 4)."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """Return whether this severity is ``other`` or more severe."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Category(StrEnum):
    """What kind of observation a finding is about."""

    PACKAGE = "package"
    FILE = "file"
    PTH = "pth"
    STARTUP = "startup"
    INTEGRITY = "integrity"
    PROCESS = "process"
    PERSISTENCE = "persistence"
    NETWORK = "network"
    CACHE = "cache"
    LOCKFILE = "lockfile"
    CONFIG = "config"
    CREDENTIAL_EXPOSURE = "credential-exposure"


class GapReason(StrEnum):
    """Why part of the host could not be looked at."""

    PERMISSION_DENIED = "permission_denied"
    VANISHED = "vanished"
    SYMLINK_LOOP = "symlink_loop"
    SPECIAL_FILE = "special_file"
    TOO_LARGE = "too_large"
    PARSE_ERROR = "parse_error"
    NOT_CROSSED = "filesystem_not_crossed"
    LIVE_ONLY = "live_only"
    CHECK_SKIPPED = "check_skipped"
    OUTSIDE_ROOT = "outside_root"
    CHECK_FAILED = "check_failed"
    OS_ERROR = "os_error"
    TIMEOUT = "timeout"
    PRUNED = "pruned"
    HASHED_ONLY = "hashed_only"
    """The bundle keeps the file's facts (path, size, hash), not its content (evidence policy)."""
    SPARSE_FILE = "sparse_file"
    """Far fewer bytes allocated than the size says: not read (see :mod:`sitesweep.budget`)."""
    BUDGET = "budget_exhausted"
    """A scan-wide or per-item budget (bytes hashed, rows, time) was spent before this."""
    COLLECTOR_FAILED = "collector_failed"
    """A collector (or one step of it) raised; what it would have observed is missing."""
    NOT_COLLECTED = "not_collected"
    """No collector observes this area on the scanned host's operating system."""
    UNKNOWN_OS = "unknown_os"
    """The scanned tree's operating system could not be told from its files."""


@dataclass(frozen=True, order=True)
class Gap:
    """Something the scan could not look at, and why.

    Attributes:
        area: the stage or check that hit the gap (``discovery``, ``inventory``, ...).
        path: the host path concerned, or ``None`` when the gap is not about one path.
        reason: a machine-readable reason.
        detail: a human sentence (the OS error text, the parser message).
    """

    area: str
    path: Optional[HostPath]
    reason: GapReason
    detail: str


@dataclass(frozen=True, order=True)
class Evidence:
    """One piece of evidence behind a finding: a labelled value, optionally tied to a line."""

    label: str
    value: str
    line: Optional[int] = None


@dataclass(frozen=True)
class Finding:
    """What a signature or a heuristic says about an observation.

    Attributes:
        rule: the id of the rule that fired, ``<pack-id>/<indicator>`` or ``heuristic/<name>``.
        severity: how urgent.
        category: what kind of observation.
        title: one line for a human.
        paths: the host paths it concerns.
        environment: the prefix of the Python environment it was found in, if any.
        distribution: canonical distribution name, if about a distribution.
        version: the distribution's version string as installed.
        evidence: hashes, matched strings, line numbers.
        remediation: what to do, or where to read it.
        pack: id of the signature pack behind it; ``None`` for heuristics.
    """

    rule: str
    severity: Severity
    category: Category
    title: str
    paths: Tuple[HostPath, ...] = ()
    environment: Optional[HostPath] = None
    distribution: Optional[str] = None
    version: Optional[str] = None
    evidence: Tuple[Evidence, ...] = ()
    remediation: Optional[str] = None
    pack: Optional[str] = None
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        """Derive a stable id from what the finding is about, so re-runs give the same id."""
        if not self.id:
            key = "\0".join(
                (self.rule, *self.paths, self.environment or "", self.distribution or "")
            )
            digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
            object.__setattr__(self, "id", digest)

    def sort_key(self) -> tuple[int, str, tuple[str, ...]]:
        """Order findings by severity (most severe first), then rule, then paths."""
        return (-self.severity.rank, self.rule, self.paths)
