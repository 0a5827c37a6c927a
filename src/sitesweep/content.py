"""Where checks get file content from: the host itself, or a bundle's evidence copies.

Checks do no I/O of their own. A check that needs bytes (the YARA check) asks the
:class:`ContentSource` in its context. ``scan`` gives it :class:`HostContent` (reads through
:class:`~sitesweep.hostfs.HostRoot`, live or under ``--root``); ``analyze BUNDLE`` gives it
:class:`EvidenceContent`, which serves the copies the bundle writer made, so the same check sees
the same bytes without the host.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, FrozenSet, List, Mapping, Optional, Protocol, Tuple

from sitesweep.budget import budget_of, file_identity
from sitesweep.bundle import layout
from sitesweep.bundle.decode import parse_json
from sitesweep.errors import BundleError, HostReadError
from sitesweep.hostfs import HostRoot, read_to_end
from sitesweep.model import GapReason

__all__ = [
    "ContentSource",
    "EvidenceContent",
    "EvidenceCopy",
    "HostContent",
]

HASHED_ONLY = "hashed only"
"""The evidence index's ``kept`` value for facts-only entries (:mod:`sitesweep.bundle.evidence`)."""
INDEX_LIMIT = 256 << 20
"""Largest ``evidence/index.json`` read."""


class ContentSource(Protocol):
    """Reads the content of a host file for a check."""

    def read(self, host_path: str, limit: int) -> bytes:
        """Return the whole content of ``host_path``, at most ``limit`` bytes.

        Raises:
            HostReadError: the content is unavailable (unreadable, special, larger than
                ``limit``, not in the bundle); its reason and detail become a coverage gap.
        """
        ...

    def known(self, host_path: str) -> Optional[Tuple[bytes, int]]:
        """The SHA-256 digest and size of ``host_path``'s content when already known without
        reading it (the scan hashed that same, unchanged file); else ``None``."""
        ...

    def note(self, host_path: str, sha256: bytes, size: int) -> None:
        """Hear what the whole content of ``host_path`` a check read hashes to (SHA-256 digest
        and size), so the bundle writer can keep those facts without reading the file again."""
        ...


class HostContent:
    """File content read from the scanned host (live, or a tree under ``--root``).

    Args:
        root: the scanned filesystem.
    """

    def __init__(self, root: HostRoot) -> None:
        self.root = root
        self._budget = budget_of(root)
        """The scan's budget of this root (one per root, never replaced): its memos are looked
        up once per candidate, not found again through the root each time."""
        self._seen = threading.local()
        """Per thread, the path :meth:`known` last asked about and its ``lstat``."""

    def known(self, host_path: str) -> Optional[Tuple[bytes, int]]:
        """What the scan hashed of this very file: the memo of
        :func:`sitesweep.budget.known_digest` (device, inode, size, mtime, ctime of an
        ``lstat`` taken now), asked directly.

        Its ``lstat`` serves the :meth:`read` of the same path that may follow in this thread:
        the file read is the one looked up (one ``lstat`` for both)."""
        seen = self._seen
        seen.last = None
        memo = self._budget.by_identity
        if not memo:
            return None  # nothing hashed: nothing to look up, read() asks the door itself
        try:
            st = self.root.stat_result(host_path)
        except HostReadError:
            return None
        seen.last = (host_path, st)
        ident = file_identity(st)
        return memo.get(ident) if ident is not None else None

    def note(self, host_path: str, sha256: bytes, size: int) -> None:
        """Remember the digest beside the scan's root (:func:`sitesweep.budget.read_digests`)."""
        self._budget.read[host_path] = (sha256, size)

    def read(self, host_path: str, limit: int) -> bytes:
        """Read through the host door: regular files only, bounded, never through a final symlink.

        A symlink named by a .pth list or a RECORD row could point anywhere on the host
        (``/etc/shadow``); its target is neither matched nor copied into a bundle. Symlinks in
        parent directories are resolved inside the root, as everywhere else. Right after
        :meth:`known` of the same path in the same thread, the file opened must be the one
        that looked up (device and inode, a regular file), else a ``vanished`` gap.
        """
        last = getattr(self._seen, "last", None)
        self._seen.last = None
        seen = last[1] if last is not None and last[0] == host_path else None
        with self.root.open_nofollow(host_path, seen) as fh:
            if fh.size > limit:
                raise HostReadError(host_path, GapReason.TOO_LARGE, f"larger than {limit} bytes")
            return read_to_end(host_path, fh, limit, fh.size)


@dataclass(frozen=True)
class EvidenceCopy:
    """Where the bundle holds a copy of a host file, and the SHA-256 of that copy."""

    bundle_path: str
    sha256: Optional[str]


class EvidenceContent:
    """File content served from a bundle's ``evidence/`` copies.

    Args:
        bundle_dir: the (unpacked) bundle directory.
        index: host path -> the copy made of it (from ``evidence/index.json``).
    """

    def __init__(
        self,
        bundle_dir: Path,
        index: Mapping[str, EvidenceCopy],
        hashed_only: FrozenSet[str] = frozenset(),
    ) -> None:
        self._hashed_only = hashed_only
        self._files = HostRoot(bundle_dir)
        self._index = dict(index)

    @classmethod
    def from_bundle(cls, bundle_dir: Path) -> EvidenceContent:
        """Build from the bundle's ``evidence/index.json``.

        Raises:
            BundleError: the index is missing, unreadable or malformed.
        """
        files = HostRoot(bundle_dir)
        try:
            raw = files.read_bytes(layout.EVIDENCE_INDEX, INDEX_LIMIT)
        except HostReadError as exc:
            raise BundleError(f"{layout.EVIDENCE_INDEX}: unreadable: {exc}") from exc
        entries = parse_json(raw, layout.EVIDENCE_INDEX)  # bounded depth, no NaN
        if not isinstance(entries, list):
            raise BundleError(f"{layout.EVIDENCE_INDEX}: not a list")
        hashed = frozenset(
            str(e.get("host_path"))
            for e in entries
            if isinstance(e, dict) and e.get("kept") == HASHED_ONLY and e.get("copied") is not True
        )
        return cls(bundle_dir, _index(entries), hashed)

    def known(self, host_path: str) -> Optional[Tuple[bytes, int]]:
        """Nothing is known without reading the copy."""
        return None

    def note(self, host_path: str, sha256: bytes, size: int) -> None:
        """Nothing to remember: a bundle's facts are already in its index."""

    def read(self, host_path: str, limit: int) -> bytes:
        """Return the copy of ``host_path``, checked against the SHA-256 the writer recorded."""
        copy = self._index.get(host_path)
        if copy is None and host_path in self._hashed_only:
            detail = "its facts, not its content, were kept at collection (evidence policy)"
            raise HostReadError(host_path, GapReason.HASHED_ONLY, detail)
        if copy is None:
            raise HostReadError(host_path, GapReason.VANISHED, "no copy in the bundle's evidence")
        try:
            data = self._files.read_bytes(copy.bundle_path, limit)
        except HostReadError as exc:
            raise HostReadError(host_path, exc.reason, f"evidence copy: {exc.detail}") from exc
        if copy.sha256 is not None and hashlib.sha256(data).hexdigest() != copy.sha256:
            detail = "evidence copy does not match the SHA-256 recorded when it was made"
            raise HostReadError(host_path, GapReason.PARSE_ERROR, detail)
        return data


def _index(entries: List[object]) -> Dict[str, EvidenceCopy]:
    """Map host path -> copy for every copied entry; refuse paths leaving ``evidence/``."""
    index: Dict[str, EvidenceCopy] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("copied") is not True:
            continue
        host, where = entry.get("host_path"), entry.get("bundle_path")
        digest = entry.get("copied_sha256")
        if not isinstance(host, str) or not isinstance(where, str):
            raise BundleError(f"{layout.EVIDENCE_INDEX}: entry without host_path/bundle_path")
        if not _inside_evidence(where):
            raise BundleError(f"{layout.EVIDENCE_INDEX}: unsafe bundle_path {where!r}")
        index[host] = EvidenceCopy(where, digest if isinstance(digest, str) else None)
    return index


def _inside_evidence(bundle_path: str) -> bool:
    path = PurePosixPath(bundle_path)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and len(path.parts) >= 2
        and path.parts[0] == layout.EVIDENCE_DIR
    )
