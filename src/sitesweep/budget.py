"""Budgets, not only per-file caps: what one scan may spend hashing, and on what.

A per-file cap stops one huge file; it does not stop many. A targeted RECORD can list one sparse
255 MiB file 50,000 times (14 hours of hashing, row by row), a pip cache can hold 200,000 sparse
wheels, 20 homes can link the same 15 MiB history. So every file a collector hashes in bulk goes
through :func:`hash_file`, which

* hashes each file once per scan: the result is remembered by (device, inode, size, mtime), so a
  file listed 50,000 times, or linked from 20 places, costs one read;
* refuses a sparse file (far fewer bytes allocated than its size says; a real package file never
  is) above :data:`SPARSE_MIN` bytes: a gap [``sparse_file``], no read;
* counts every byte hashed against the scan's budget (:data:`SCAN_HASH_BYTES`) and, when given,
  a distribution's (:class:`Allowance`, :data:`DIST_HASH_BYTES`): past either, a gap
  [``budget_exhausted``] and no read.

Other bulk reads of host files are charged to the same scan budget with :func:`charge` (a
padded ``.pth`` streamed up to 256 MiB). Evidence copies have a sibling budget, the bytes one
bundle may copy off the host (:data:`EVIDENCE_BYTES`, :func:`charge_copy`): past it a file's
copy is a gap [``budget_exhausted``] and its facts (path, size, SHA-256) are still kept.

The budget lives beside the :class:`~sitesweep.hostfs.HostRoot` of the scan (one per scan) and
goes when it goes. The figures are in ``docs/robustness.md``.
"""

from __future__ import annotations

import os
import stat
import weakref
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import Digest, HostRoot
from sitesweep.model import GapReason

__all__ = [
    "DIST_HASH_BYTES",
    "EVIDENCE_BYTES",
    "SCAN_HASH_BYTES",
    "SPARSE_MIN",
    "Allowance",
    "ScanBudget",
    "budget_of",
    "charge",
    "charge_copy",
    "file_identity",
    "has_identities",
    "hash_file",
    "known_digest",
    "read_digests",
]

SCAN_HASH_BYTES = 32 << 30
"""Bytes one scan may hash in bulk (RECORD verification, caches, indicator files): 32 GiB, about
half a minute of SHA-256 here, several times the largest real environment (CUDA wheels)."""
DIST_HASH_BYTES = 8 << 30
"""Bytes the verification of one distribution may hash (8 GiB: torch with CUDA is about 4)."""
EVIDENCE_BYTES = 2 << 30
"""Bytes one bundle may copy off the host as evidence (2 GiB: an incident's evidence is
kilobytes to a few hundred MiB; each file is also capped at 64 MiB)."""
SPARSE_MIN = 8 << 20
"""Files smaller than this are hashed even when sparse (cheap either way)."""
SPARSE_RATIO = 8
"""A file is sparse when its size is more than this many times the bytes allocated to it."""

_MEMO_MIN = 1 << 20
_Key = Tuple[int, int, int, int]
_Identity = Tuple[int, int, int, int, int]


@dataclass
class Allowance:
    """What one unit of work (one distribution's verification) may still hash."""

    left: int = DIST_HASH_BYTES
    exhausted: bool = False


@dataclass
class ScanBudget:
    """What one scan has hashed, and what it remembers of it."""

    limit: int = field(default_factory=lambda: SCAN_HASH_BYTES)
    hashed: int = 0
    copy_limit: int = field(default_factory=lambda: EVIDENCE_BYTES)
    copied: int = 0
    """Bytes copied into the bundle's evidence."""
    exhausted: bool = False
    digests: Dict[_Key, Digest] = field(default_factory=dict)
    reused: int = 0
    """Hashes answered from memory (the same file again)."""
    sparse: int = 0
    """Sparse files refused."""
    by_identity: Dict[_Identity, Tuple[bytes, int]] = field(default_factory=dict)
    """SHA-256 digest and size of whole regular files hashed in this scan, by (device, inode,
    size, mtime, ctime): a later reader of the same, unchanged file (the YARA pass) can match
    by digest without reading it again. ctime cannot be set back by a user, so a file changed
    since (even with its mtime restored) is read anew."""
    read: Dict[str, Tuple[bytes, int]] = field(default_factory=dict)
    """SHA-256 digest and size of whole files a check read, by host path (the YARA pass reads
    every candidate; the bundle writer keeps these facts instead of reading the files again)."""


_BUDGETS: weakref.WeakKeyDictionary[HostRoot, ScanBudget] = weakref.WeakKeyDictionary()


def budget_of(root: HostRoot) -> ScanBudget:
    """The budget of the scan reading ``root`` (made on first use)."""
    budget = _BUDGETS.get(root)
    if budget is None:
        budget = _BUDGETS[root] = ScanBudget()
    return budget


def read_digests(root: HostRoot) -> Dict[str, Tuple[bytes, int]]:
    """What the scan reading ``root`` learnt of whole files it read (:attr:`ScanBudget.read`)."""
    return budget_of(root).read


def file_identity(st: os.stat_result) -> Optional[_Identity]:
    """What tells this very file, unchanged, from any other (device, inode, size, mtime, ctime:
    a change cannot set the ctime back); ``None`` for anything but a regular file with an inode
    number."""
    if not stat.S_ISREG(st.st_mode) or not st.st_ino:  # images may give no inode numbers
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def known_digest(
    root: HostRoot, path: str, seen: Optional[os.stat_result] = None
) -> Optional[Tuple[bytes, int]]:
    """The SHA-256 digest and size of ``path`` if this scan hashed that same file, unchanged
    (see :attr:`ScanBudget.by_identity`); ``None`` otherwise (and for anything unreadable).

    ``seen``: the :meth:`HostRoot.stat_result` of ``path`` the caller has just taken."""
    if not has_identities(root):
        return None
    try:
        ident = file_identity(root.stat_result(path) if seen is None else seen)
    except HostReadError:
        return None
    return _BUDGETS[root].by_identity.get(ident) if ident is not None else None


def has_identities(root: HostRoot) -> bool:
    """Whether the scan reading ``root`` hashed any whole file (:func:`known_digest` can find
    one)."""
    budget = _BUDGETS.get(root)
    return budget is not None and bool(budget.by_identity)


def is_sparse(st_size: int, st_blocks: int) -> bool:
    """Whether a file of ``st_size`` bytes with ``st_blocks`` 512-byte blocks counts as sparse."""
    return st_size >= SPARSE_MIN and st_blocks * 512 * SPARSE_RATIO < st_size


def charge(root: HostRoot, path: str, cost: int) -> None:
    """Count ``cost`` bytes about to be read from ``path`` against the scan's hashing budget.

    Raises:
        HostReadError: ``budget_exhausted`` when they do not fit (nothing is counted).
    """
    budget = budget_of(root)
    if budget.hashed + cost > budget.limit:
        budget.exhausted = True
        detail = f"the scan's hashing budget ({budget.limit} bytes) is spent; not read"
        raise HostReadError(path, GapReason.BUDGET, detail)
    budget.hashed += cost


def charge_copy(root: HostRoot, path: str, cost: int) -> None:
    """Count ``cost`` bytes about to be copied from ``path`` into the bundle's evidence.

    Raises:
        HostReadError: ``budget_exhausted`` when they do not fit (nothing is counted).
    """
    budget = budget_of(root)
    if budget.copied + cost > budget.copy_limit:
        detail = (
            f"the bundle's evidence budget ({budget.copy_limit} bytes copied) is spent; "
            "not copied (its path, size and SHA-256 are kept)"
        )
        raise HostReadError(path, GapReason.BUDGET, detail)
    budget.copied += cost


def hash_file(
    root: HostRoot,
    path: str,
    limit: int,
    allowance: Optional[Allowance] = None,
    seen: Optional[os.stat_result] = None,
) -> Digest:
    """SHA-256 of a host file, within the scan's budget (and ``allowance``), once per file.

    One ``lstat`` decides (``seen``, when the caller has just taken it with
    :meth:`HostRoot.stat_result`): the memo, the sparse check and the budget read it, and a
    regular file is then opened without asking again, ``fstat`` checking it is the file seen.

    Raises:
        HostReadError: as :meth:`HostRoot.digest`, and ``sparse_file`` for a sparse file,
            ``budget_exhausted`` when the scan's or the allowance's bytes are spent.
    """
    budget = budget_of(root)
    st = root.stat_result(path) if seen is None else seen
    key: Optional[_Key] = None
    if stat.S_ISREG(st.st_mode):
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        known = budget.digests.get(key)
        if known is not None:
            budget.reused += 1
            return known
        if is_sparse(st.st_size, getattr(st, "st_blocks", st.st_size // 512 + 1)):
            budget.sparse += 1
            allocated = getattr(st, "st_blocks", 0) * 512
            detail = f"sparse file: {st.st_size} bytes, {allocated} allocated; not hashed"
            raise HostReadError(path, GapReason.SPARSE_FILE, detail)
    cost = min(st.st_size, limit)
    if budget.hashed + cost > budget.limit:
        budget.exhausted = True
        detail = f"the scan's hashing budget ({budget.limit} bytes) is spent; not hashed"
        raise HostReadError(path, GapReason.BUDGET, detail)
    if allowance is not None and cost > allowance.left:
        allowance.exhausted = True
        detail = f"this distribution's hashing budget ({DIST_HASH_BYTES} bytes) is spent"
        raise HostReadError(path, GapReason.BUDGET, detail)
    digest = root.digest(path, limit, seen=st if key is not None else None)
    ident = file_identity(st)
    if ident is not None and digest.size == st.st_size:
        budget.by_identity[ident] = (bytes.fromhex(digest.sha256), digest.size)
    budget.hashed += digest.size
    if allowance is not None:
        allowance.left -= digest.size
    if key is not None and (st.st_nlink > 1 or st.st_size >= _MEMO_MIN):
        budget.digests[key] = digest  # only what may come again: a linked or a large file
    return digest
