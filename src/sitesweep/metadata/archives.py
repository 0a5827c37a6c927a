"""Package archives read as data: file-name parsing and bounded zip member listing.

Archives are never extracted and nothing in them is run: a zip's central directory is read for
member *names* only, after its declared member count and sizes have been checked, so a zip bomb or
a truncated download becomes an :class:`ArchiveError` (a coverage gap), never a crash.
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Iterator, Optional, Tuple

from packaging.utils import canonicalize_name

from sitesweep.errors import SitesweepError

MAX_MEMBERS = 100_000
"""A central directory claiming more members than this is refused (the largest real wheels hold
a few tens of thousands of files)."""

MAX_DECLARED_TOTAL = 16 << 30
"""Refuse archives whose members claim more than this many uncompressed bytes in total."""

MAX_RATIO = 1_000
"""Refuse a member claiming more than this times its compressed size (plus 1 MiB): a bomb."""

MAX_INTERESTING = 64
"""Member names kept per archive."""

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")
CONDA_SUFFIXES = (".conda", ".tar.bz2")

NameVersion = Tuple[str, str]


class ArchiveError(SitesweepError):
    """An archive is truncated, malformed or hostile; its members were not listed."""


def _valid_version(text: str) -> bool:
    return bool(text) and text[0].isdigit()


def parse_wheel_filename(filename: str) -> Optional[NameVersion]:
    """Return (canonical name, version) of ``{name}-{version}(-{build})?-{py}-{abi}-{plat}.whl``.

    Also accepts the same stem with another suffix (uv names its cache entries after the wheel).
    """
    stem = filename.rsplit(".", 1)[0] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) not in (5, 6) or not parts[0] or not _valid_version(parts[1]):
        return None
    return canonicalize_name(parts[0]), parts[1]


def parse_sdist_filename(filename: str) -> Optional[NameVersion]:
    """Return (canonical name, version) of ``{name}-{version}.tar.gz`` (or ``.zip`` ...)."""
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            if name and _valid_version(version):
                return canonicalize_name(name), version
    return None


def parse_conda_filename(filename: str) -> Optional[NameVersion]:
    """Return (name, version) of a conda package ``{name}-{version}-{build}.conda``/``.tar.bz2``.

    Extracted package directories in ``pkgs/`` carry the same name without a suffix.
    """
    stem = filename
    for suffix in CONDA_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not parts[0] or not _valid_version(parts[1]) or not parts[2]:
        return None
    return canonicalize_name(parts[0]), parts[1]


def parse_dist_info_dirname(dirname: str) -> Optional[NameVersion]:
    """Return (canonical name, version) of ``{name}-{version}.dist-info``."""
    if not dirname.endswith(".dist-info"):
        return None
    name, _, version = dirname[: -len(".dist-info")].rpartition("-")
    if not name or not _valid_version(version):
        return None
    return canonicalize_name(name), version


def sniff(data: bytes) -> Optional[str]:
    """Return ``"zip"``, ``"zip-embedded"`` (a zip after a cache header) or ``"gzip"``."""
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if ZIP_MAGIC in data[: 1 << 16] and _EOCD in data[-(1 << 17) :]:
        return "zip-embedded"
    return None


def declared_members(data: bytes) -> int:
    """Return the member count the end-of-central-directory record claims.

    Raises:
        ArchiveError: there is no end record (a truncated or non-zip file).
    """
    pos = data.rfind(_EOCD, max(0, len(data) - (1 << 16) - 22))
    if pos < 0 or len(data) < pos + 22:
        raise ArchiveError("no end-of-central-directory record (truncated or not a zip)")
    count: int = struct.unpack_from("<H", data, pos + 10)[0]
    if count == 0xFFFF and pos >= 20 and data[pos - 20 : pos - 16] == _EOCD64_LOCATOR:
        record = data.rfind(_EOCD64, 0, pos - 20)
        if record < 0 or record + 56 > len(data):
            raise ArchiveError("zip64 end record missing")
        count = struct.unpack_from("<Q", data, record + 32)[0]
    return count


def _check_sizes(infos: Tuple[zipfile.ZipInfo, ...]) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MAX_RATIO * info.compress_size + (1 << 20):
            raise ArchiveError(
                f"member {info.filename!r} claims {info.file_size} bytes from "
                f"{info.compress_size} compressed (zip bomb?)"
            )
    if total > MAX_DECLARED_TOTAL:
        raise ArchiveError(f"members claim {total} uncompressed bytes in total")


def list_zip(data: bytes) -> Tuple[str, ...]:
    """List a zip's member names (never extracting anything).

    Raises:
        ArchiveError: truncated, malformed, too many members or absurd declared sizes.
    """
    count = declared_members(data)
    if count > MAX_MEMBERS:
        raise ArchiveError(f"central directory claims {count} members (limit {MAX_MEMBERS})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = tuple(archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError) as exc:
        raise ArchiveError(f"unreadable zip: {exc}") from exc
    except (OSError, NotImplementedError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"unreadable zip: {exc}") from exc
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{len(infos)} members (limit {MAX_MEMBERS})")
    _check_sizes(infos)
    return tuple(info.filename for info in infos)


def iter_zip_members(data: bytes, member_limit: int) -> Iterator[Tuple[str, bytes]]:
    """Yield (name, bytes) of each regular member, in memory, after the same checks as
    :func:`list_zip`; a member larger than ``member_limit`` is skipped (never decompressed).

    Raises:
        ArchiveError: as :func:`list_zip`, or when a member cannot be decompressed.
    """
    list_zip(data)  # refuses bombs, truncation and absurd member counts before any inflation
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir() or info.file_size > member_limit:
                    continue
                with archive.open(info) as member:
                    yield info.filename, member.read(member_limit + 1)[:member_limit]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError) as exc:
        raise ArchiveError(f"unreadable zip member: {exc}") from exc
    except (OSError, NotImplementedError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"unreadable zip member: {exc}") from exc


def interesting_members(names: Tuple[str, ...]) -> Tuple[str, ...]:
    """Keep the names that identify or arm a package: ``*.dist-info/`` dirs and ``.pth`` files."""
    kept = set()
    for name in names:
        head = name.split("/", 1)[0]
        if head.endswith(".dist-info"):
            kept.add(head + "/")
        elif name.endswith(".pth"):
            kept.add(name)
    return tuple(sorted(kept)[:MAX_INTERESTING])


def identify(members: Tuple[str, ...]) -> Optional[NameVersion]:
    """Return (name, version) from the first ``*.dist-info/`` among ``members``."""
    for member in members:
        if member.endswith(".dist-info/"):
            found = parse_dist_info_dirname(member[:-1])
            if found is not None:
                return found
    return None
