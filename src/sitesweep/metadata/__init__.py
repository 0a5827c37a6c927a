"""What is installed in a site-packages directory, read statically (never imported, never run)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional

from sitesweep import budget
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostEntry, HostRoot
from sitesweep.metadata.distinfo import read_distribution, read_record
from sitesweep.metadata.model import Distribution, HostFile, PthFile, StartupHook
from sitesweep.metadata.pth import PthStream, parse_pth
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.parsing import guarded

__all__ = ["SiteInventory", "hash_file", "read_site"]

PTH_LIMIT = 1 << 20
"""A real .pth is a few lines; the litellm one was 34 KB. A larger one is read in a stream: every
line of its first PTH_LIMIT bytes and every executable line after them are kept (a gap says so)."""
PTH_SCAN_LIMIT = 256 << 20
"""How far an oversized .pth is streamed and hashed; beyond that it is unread (a gap says so)."""
HOOK_LIMIT = 1 << 20
STARTUP_HOOK_NAMES = ("sitecustomize", "usercustomize")


@dataclass
class SiteInventory:
    """Everything read from one site dir."""

    distributions: List[Distribution] = field(default_factory=list)
    pth_files: List[PthFile] = field(default_factory=list)
    startup_hooks: List[StartupHook] = field(default_factory=list)
    files: List[HostFile] = field(default_factory=list)
    gaps: List[Gap] = field(default_factory=list)


def hash_file(root: HostRoot, path: str, limit: int, gaps: List[Gap]) -> Optional[HostFile]:
    """Stat and hash one host file within the scan's budget (:func:`sitesweep.budget.hash_file`:
    once per file, sparse files refused); failures become gaps and give ``None``."""
    try:
        st = root.stat_result(path)
        digest = budget.hash_file(root, path, limit, seen=st)
    except HostReadError as exc:
        gaps.append(Gap("inventory", HostPath(path), exc.reason, exc.detail))
        return None
    return HostFile(HostPath(path), digest.size, digest.sha256, st.st_mtime, st.st_mode, st.st_uid)


def _read_pth(root: HostRoot, site: HostPath, path: str, inv: SiteInventory) -> None:
    try:
        info = root.lstat(path)
        data = root.read_bytes(path, PTH_LIMIT)
    except HostReadError as exc:
        if exc.reason is GapReason.TOO_LARGE:
            _read_large_pth(root, site, path, inv)
        else:
            inv.gaps.append(Gap("inventory", HostPath(path), exc.reason, exc.detail))
        return
    file = HostFile(
        HostPath(path), len(data), hashlib.sha256(data).hexdigest(), info.mtime, info.mode, info.uid
    )
    text = data.decode("utf-8", "surrogateescape")
    inv.pth_files.append(PthFile(site, file, parse_pth(text)))


def _read_large_pth(root: HostRoot, site: HostPath, path: str, inv: SiteInventory) -> None:
    """A ``.pth`` over the cap: streamed once, hashed whole, its executable lines all kept.

    Python runs a padded ``.pth`` as readily as a small one, so the size cap must not hide it:
    the first :data:`PTH_LIMIT` bytes are split as usual, every executable line after them is
    kept too, and the file's true size and hash are recorded. Past :data:`PTH_SCAN_LIMIT` bytes
    nothing more is read (no hash, a gap).
    """
    stream = PthStream(PTH_LIMIT)
    sha256: Optional[str] = None
    try:
        info = root.lstat(path)
        size = info.size
        try:
            budget.charge(root, path, min(size, PTH_SCAN_LIMIT))
            digest = root.digest(path, PTH_SCAN_LIMIT, stream.feed)
            sha256, size = digest.sha256, digest.size
            read = f"read whole ({size} bytes)"
        except HostReadError as exc:
            if exc.reason is not GapReason.TOO_LARGE:
                raise
            read = f"{size} bytes: only the first {PTH_SCAN_LIMIT} were read; not hashed"
    except HostReadError as exc:
        inv.gaps.append(Gap("inventory", HostPath(path), exc.reason, exc.detail))
        return
    lines = stream.close()
    detail = (
        f"over the {PTH_LIMIT}-byte cap, {read}: every line of the first {PTH_LIMIT} bytes and "
        f"every executable line after them kept"
    )
    if stream.dropped:
        detail += f" ({stream.dropped} executable lines beyond the kept {PTH_LIMIT} bytes dropped)"
    inv.gaps.append(Gap("inventory", HostPath(path), GapReason.TOO_LARGE, detail))
    file = HostFile(HostPath(path), size, sha256, info.mtime, info.mode, info.uid)
    inv.pth_files.append(PthFile(site, file, lines, truncated=True))


def _read_hook(root: HostRoot, site: HostPath, path: str, name: str, inv: SiteInventory) -> None:
    file = hash_file(root, path, HOOK_LIMIT, inv.gaps)
    if file is None:
        return
    try:
        text = root.read_text(path, HOOK_LIMIT)
    except HostReadError as exc:
        inv.gaps.append(Gap("inventory", HostPath(path), exc.reason, exc.detail))
        text = ""
    inv.startup_hooks.append(StartupHook(site, name, file, text))


def _read_hook_entry(root: HostRoot, site: HostPath, entry: HostEntry, inv: SiteInventory) -> None:
    """Read ``sitecustomize.py``/``.pyc`` or a ``sitecustomize/`` package's ``__init__.py``."""
    stem, dot, ext = entry.name.partition(".")
    path = f"{site.rstrip('/')}/{entry.name}"
    if ext in ("py", "pyc"):
        _read_hook(root, site, path, stem, inv)
    elif not dot and entry.is_dir(follow_symlinks=False):
        _read_hook(root, site, f"{path}/__init__.py", stem, inv)


def _read_entry(
    root: HostRoot, site: HostPath, entry: HostEntry, inv: SiteInventory, lazy: bool
) -> None:
    name = entry.name
    if name.endswith((".dist-info", ".egg-info")):
        inv.distributions.append(read_distribution(root, site, name, inv.gaps, not lazy))
    elif name.endswith(".pth"):
        _read_pth(root, site, f"{site.rstrip('/')}/{name}", inv)
    elif name.partition(".")[0] in STARTUP_HOOK_NAMES:
        _read_hook_entry(root, site, entry, inv)


def read_site(
    root: HostRoot,
    site: HostPath,
    site_paths: FrozenSet[str],
    hash_limit: int,
    record_names: Optional[FrozenSet[str]] = None,
) -> SiteInventory:
    """Read a site dir's distributions, .pth files, startup hooks and indicator paths.

    Args:
        root: the scanned host.
        site: the site dir.
        site_paths: site-relative indicator paths to hash when present.
        hash_limit: largest file hashed.
        record_names: read the RECORD files of this site dir only when one of its entries (a
            top-level package) or one of its distributions has one of these names (the packs'
            targets, whose RECORDs are verified against every RECORD of the site dir);
            ``None`` reads every RECORD.
    """
    inv = SiteInventory()
    try:
        entries = root.listdir(site)
    except HostReadError as exc:
        inv.gaps.append(Gap("inventory", site, exc.reason, exc.detail))
        return inv
    base = site.rstrip("/")
    lazy = record_names is not None
    for entry in entries:  # one guard per entry: a hostile one is a gap, never the end
        guarded(
            "inventory",
            f"{base}/{entry.name}",
            inv.gaps,
            None,
            _read_entry,
            root,
            site,
            entry,
            inv,
            lazy,
        )
    if record_names is not None and _needs_records(entries, inv.distributions, record_names):
        inv.distributions = [
            guarded("inventory", d.path, inv.gaps, d, read_record, root, d, inv.gaps)
            for d in inv.distributions
        ]
    for rel in sorted(site_paths):
        path = f"{base}/{rel}"
        try:
            root.lstat(path)
        except HostReadError:
            continue
        file = hash_file(root, path, hash_limit, inv.gaps)
        if file is not None:
            inv.files.append(file)
    return inv


def _needs_records(
    entries: List[HostEntry], dists: List[Distribution], names: FrozenSet[str]
) -> bool:
    """Return whether a site dir holds a targeted distribution or top-level package."""
    return any(e.name in names for e in entries) or any(d.name in names for d in dists)
