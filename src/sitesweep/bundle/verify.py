"""Check a bundle against its manifest: every listed file present and unchanged, nothing added.

The bundle may be hostile: listed names that are absolute or climb with ``..`` are reported, never
opened; symlinks are never followed (a listed file that is a link, or lies under a linked
directory, is reported as altered and not read); only regular files are hashed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Set, Tuple

from sitesweep.bundle import layout
from sitesweep.bundle.reader import open_bundle, read_manifest
from sitesweep.errors import BundleError

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found.

    Attributes:
        manifest_sha256: hash of the manifest itself (compare it with the value recorded when
            the bundle was collected: the manifest cannot vouch for itself).
        checked: files listed in the manifest.
        altered: listed files whose content differs, or that are not regular files.
        missing: listed files that are absent.
        extra: files present but not listed (the manifest itself excepted).
    """

    manifest_sha256: str
    checked: int
    altered: Tuple[str, ...]
    missing: Tuple[str, ...]
    extra: Tuple[str, ...]

    @property
    def intact(self) -> bool:
        """Whether every file matches and nothing is missing or added."""
        return not (self.altered or self.missing or self.extra)


def _listed(manifest: Dict[str, object]) -> Dict[str, str]:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{layout.MANIFEST}: no 'files' table of hashes")
    listed: Dict[str, str] = {}
    for name, digest in files.items():
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX):
            raise BundleError(f"{layout.MANIFEST}: files[{name!r}] is not a SHA-256")
        listed[str(name)] = digest
    if not listed:  # nothing listed would verify as intact: a manifest must vouch for something
        raise BundleError(f"{layout.MANIFEST}: lists no file: nothing to verify")
    return listed


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name


def _present(directory: Path) -> Iterator[str]:
    """Every non-directory entry under ``directory`` (links to directories too, not entered)."""
    for top, dirs, files in os.walk(directory, followlinks=False):
        base = Path(top)
        for name in files:
            yield (base / name).relative_to(directory).as_posix()
        for name in dirs:
            if (base / name).is_symlink():
                yield (base / name).relative_to(directory).as_posix()


def _no_links_above(directory: Path, name: str) -> bool:
    """Whether every parent of ``name`` is a real directory (absent parents count as fine)."""
    current = directory
    for part in PurePosixPath(name).parts[:-1]:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except OSError:
            return True
        if not stat.S_ISDIR(mode):  # a link, or a file where a directory should be
            return False
    return True


def _hash_regular(directory: Path, name: str) -> Optional[str]:
    """SHA-256 of a regular file reached without following any link; ``None`` otherwise."""
    if not _no_links_above(directory, name):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(directory / name, flags)
    except OSError:  # ELOOP: the file is a symlink
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        sha = hashlib.sha256()
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def verify_directory(directory: Path) -> Verification:
    """Verify an unpacked bundle directory against its ``manifest.json``.

    Raises:
        BundleError: the manifest is missing, unreadable or malformed.
    """
    manifest = read_manifest(directory)
    manifest_sha = hashlib.sha256((directory / layout.MANIFEST).read_bytes()).hexdigest()
    listed = _listed(manifest)
    present: Set[str] = set(_present(directory))
    altered: List[str] = []
    missing: List[str] = []
    for name, digest in sorted(listed.items()):
        if not _safe_name(name):
            altered.append(name)
        elif name not in present:
            (missing if _no_links_above(directory, name) else altered).append(name)
        elif _hash_regular(directory, name) != digest:
            altered.append(name)
    extra = sorted(present - set(listed) - {layout.MANIFEST})
    return Verification(manifest_sha, len(listed), tuple(altered), tuple(missing), tuple(extra))


def verify_bundle(path: Path, identity: Optional[Path] = None) -> Verification:
    """Verify a bundle directory, ``.tar.gz`` or age-encrypted archive (with ``identity``).

    Raises:
        BundleError: the bundle cannot be opened or has no usable manifest.
    """
    with open_bundle(path, identity) as directory:
        return verify_directory(directory)
