"""Signature pack value types: what a pack says about one incident.

A pack is data (``signatures/<id>/pack.toml``); these types are what the loader turns it into after
validation. They carry no behaviour beyond small lookups, so checks can use them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, FrozenSet, Optional, Tuple

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from sitesweep.model import Severity

if TYPE_CHECKING:
    from sitesweep.packs.yararules import CompiledRules


@dataclass(frozen=True)
class AffectedRelease:
    """Distributions whose installed versions are known bad.

    Attributes:
        name: canonical (PEP 503) distribution name.
        specifiers: the bad versions as PEP 440 specifier sets (e.g. ``==1.82.7`` and ``==1.82.8``,
            written in the pack as a list of specifiers, any of which matches).
        severity: severity of a finding for an installed match.
        note: why these versions are bad (one line).
    """

    name: NormalizedName
    specifiers: Tuple[SpecifierSet, ...]
    severity: Severity
    note: str

    def matches(self, version: str) -> Optional[bool]:
        """Return whether ``version`` is affected, or ``None`` when it is not a PEP 440 version."""
        try:
            parsed = Version(version)
        except InvalidVersion:
            return None
        return any(spec.contains(parsed, prereleases=True) for spec in self.specifiers)


@dataclass(frozen=True)
class FileIndicator:
    """A file the incident leaves behind.

    Attributes:
        id: short id, unique inside the pack (used in finding rule ids).
        name: the file's base name (matched anywhere on the host), or ``None``.
        site_path: path relative to a site-packages directory (POSIX), or ``None``.
        sha256: known SHA-256 values (lower-case hex) of malicious versions of this file.
        severity: severity when the file is present.
        description: what the file is.
        name_is_indicator: whether the mere presence of ``name`` is an indicator. False for files
            that exist in clean installs too (e.g. ``proxy_server.py``): then only a hash match or
            the affected version counts.
    """

    id: str
    name: Optional[str]
    site_path: Optional[str]
    sha256: FrozenSet[str]
    severity: Severity
    description: str
    name_is_indicator: bool


@dataclass(frozen=True)
class ArtifactHash:
    """The SHA-256 of a released artifact (wheel, sdist) or a dropped file."""

    sha256: str
    filename: str
    description: str


@dataclass(frozen=True)
class NetworkIndicators:
    """Hosts the payload talks to."""

    domains: Tuple[str, ...] = ()
    ips: Tuple[str, ...] = ()
    urls: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PersistenceIndicator:
    """A persistence artefact; ``path`` may start with ``~/`` meaning every home directory."""

    id: str
    path: str
    description: str
    severity: Severity


@dataclass(frozen=True)
class Pack:
    """One incident's indicators, validated.

    Attributes:
        id: pack id, equal to its directory name (``litellm-2026-03``).
        title: one line.
        version: the pack's own revision (string; bump when indicators change).
        references: URLs of the sources.
        advisories: advisory ids of the incident (``MAL-2026-2144``, ``GHSA-...``, ``CVE-...``).
        window_start, window_end: the incident window (UTC) in which bad artifacts were published.
        affected: bad releases.
        files: file indicators.
        artifacts: hashes of released artifacts (wheels, sdists) for cache checks.
        network: network indicators.
        persistence: persistence indicators.
        credentials: what the payload steals (paths with ``~/`` or environment variable names).
        remediation: what a responder does, in prose.
        playbook: path of the incident playbook in ``playbooks/``, if any.
        yara_files: YARA rule files, relative to the pack directory.
        source: where the pack was loaded from (a path string).
        sha256: SHA-256 of the pack's ``pack.toml`` as loaded.
    """

    id: str
    title: str
    version: str
    references: Tuple[str, ...]
    window_start: Optional[datetime]
    window_end: Optional[datetime]
    affected: Tuple[AffectedRelease, ...]
    files: Tuple[FileIndicator, ...]
    artifacts: Tuple[ArtifactHash, ...]
    network: NetworkIndicators
    persistence: Tuple[PersistenceIndicator, ...]
    credentials: Tuple[str, ...]
    remediation: str
    playbook: Optional[str]
    yara_files: Tuple[str, ...]
    source: str
    sha256: str
    advisories: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PackSet:
    """All packs loaded for one run.

    Attributes:
        packs: the packs, sorted by id.
        yara: every pack's YARA rules compiled once for the run (``None`` when no pack has rules
            or yara-python is unavailable); set by :func:`sitesweep.packs.load_packs`.
    """

    packs: Tuple[Pack, ...]
    yara: Optional[CompiledRules] = field(default=None, compare=False, repr=False)

    def file_names(self) -> FrozenSet[str]:
        """Base names of every file indicator, for the collector to look out for."""
        return frozenset(f.name for p in self.packs for f in p.files if f.name)

    def site_paths(self) -> FrozenSet[str]:
        """Site-relative paths of every file indicator, for the collector to hash."""
        return frozenset(f.site_path for p in self.packs for f in p.files if f.site_path)

    def get(self, pack_id: str) -> Optional[Pack]:
        """Return the pack with this id, if loaded."""
        return next((p for p in self.packs if p.id == pack_id), None)
