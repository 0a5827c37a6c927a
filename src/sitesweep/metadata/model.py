"""Types for what is installed in a site-packages directory, read statically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from sitesweep.model import HostPath, StrEnum


class DistFormat(StrEnum):
    """How a distribution records its installation."""

    DIST_INFO = "dist-info"
    EGG_INFO_DIR = "egg-info"
    EGG_INFO_FILE = "egg-info-file"


@dataclass(frozen=True)
class RecordEntry:
    """One row of a RECORD file: path (relative to the site dir), hash spec, size."""

    path: str
    hash: str
    size: Optional[int]


@dataclass(frozen=True)
class Distribution:
    """An installed distribution.

    Attributes:
        site_dir: the site-packages it is installed in.
        path: its ``.dist-info`` / ``.egg-info`` path.
        format: dist-info or egg-info.
        raw_name: the name as written in its metadata (or the directory name).
        name: canonical PEP 503 name.
        version: the version string as written (may not be PEP 440).
        version_valid: whether ``version`` parses as PEP 440.
        installer: contents of INSTALLER, if any.
        direct_url: the ``url`` from direct_url.json, if any.
        editable: whether direct_url.json says it is an editable install.
        installed_at: modification time of the metadata directory (UTC epoch seconds).
        record: RECORD rows (empty for egg-info; read only in site dirs that hold something a
            pack targets, or with ``--verify-record``; kept in a bundle only for distributions a
            pack targets, see ``record_rows``).
        problems: what could not be parsed, kept for the responder (malformed metadata is a clue).
    """

    site_dir: HostPath
    path: HostPath
    format: DistFormat
    raw_name: str
    name: str
    version: str
    version_valid: bool
    installer: Optional[str]
    direct_url: Optional[str]
    editable: bool
    installed_at: Optional[float]
    record: Tuple[RecordEntry, ...]
    problems: Tuple[str, ...]
    record_rows: Optional[int] = 0
    """How many rows RECORD had, also when the rows themselves were not kept; ``None`` when
    RECORD was not read (no pack targets the site dir and ``--verify-record`` was not given)."""
    record_sha256: Optional[str] = None
    """SHA-256 of the RECORD file as read (``None`` when it was not read or is absent): the
    SBOM's component hash, since RECORD lists the hash of every file the wheel installed."""


class PthLineKind(StrEnum):
    """What site.py would do with a .pth line."""

    PATH = "path"
    EXEC = "exec"


@dataclass(frozen=True)
class PthLine:
    """A non-blank, non-comment line of a .pth file."""

    number: int
    kind: PthLineKind
    text: str


@dataclass(frozen=True)
class HostFile:
    """A file whose content matters: its identity and hash.

    Attributes:
        path: host path.
        size: size in bytes.
        sha256: hex digest, or ``None`` when it could not be read (a gap says why).
        mtime: modification time (UTC epoch seconds).
        mode: permission bits and type.
        uid: owner uid.
    """

    path: HostPath
    size: int
    sha256: Optional[str]
    mtime: float
    mode: int
    uid: int


@dataclass(frozen=True)
class PthFile:
    """A ``.pth`` file in a site dir, read as text (never processed).

    Attributes:
        site_dir: the site dir holding it.
        file: its identity; ``size`` and ``sha256`` are always the whole file's (``sha256`` is
            ``None`` when it was larger than the scan limit, and a gap says so).
        lines: its path and executable lines.
        truncated: the file was over the read cap: ``lines`` holds every line of its first
            part and every executable line after it (a gap says how much was read).
    """

    site_dir: HostPath
    file: HostFile
    lines: Tuple[PthLine, ...]
    truncated: bool = False

    @property
    def exec_lines(self) -> Tuple[PthLine, ...]:
        """The lines site.py would execute."""
        return tuple(line for line in self.lines if line.kind is PthLineKind.EXEC)


@dataclass(frozen=True)
class StartupHook:
    """A ``sitecustomize`` / ``usercustomize`` module found in a site dir."""

    site_dir: HostPath
    name: str
    file: HostFile
    text: str
