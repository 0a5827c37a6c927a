"""One walk of the host's tree that notes everything discovery and the file checks need.

The walk is iterative (no recursion limit), never follows a symlink (a linked directory is reached
by its real path, or lies outside the root), prunes pseudo filesystems, never opens a file, and
records every directory it could not enter as a coverage gap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from sitesweep.discovery.model import FsPolicy
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot, gap_reason_for
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.progress import NullProgress, Progress

PRUNED = ("/proc", "/sys", "/dev")
"""Host paths never walked: kernel pseudo filesystems hold no environments."""

SITE_DIR_NAMES = frozenset({"site-packages", "dist-packages"})

LOCAL_FS_TYPES = frozenset(
    {
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs",
        "vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "hfsplus", "apfs", "tmpfs",
    }
)  # fmt: skip
"""Filesystem types a live scan enters by default; others (nfs, cifs, fuse, overlay mounts of
running containers, whose layers are walked on disk anyway) become coverage gaps."""

_PROGRESS_EVERY = 2000

DEFAULT_PRUNE = frozenset({".git/objects"})
"""Directories never entered by default: git object stores hold only objects named by hash.

A prune pattern is a directory name (``node_modules``) or ``parent/name`` (``.git/objects``).
Nothing broader is pruned by default: a Python environment can live anywhere, even inside
``node_modules`` (node-gyp builds its own venv there)."""


@dataclass
class WalkResult:
    """What the walk noted."""

    site_dirs: List[HostPath] = field(default_factory=list)
    venv_prefixes: List[HostPath] = field(default_factory=list)
    conda_prefixes: List[HostPath] = field(default_factory=list)
    named_files: List[HostPath] = field(default_factory=list)
    gaps: List[Gap] = field(default_factory=list)
    dirs: int = 0
    files: int = 0
    lockfiles: List[HostPath] = field(default_factory=list)
    pruned: Dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WalkSpec:
    """What to walk and what to note.

    Attributes:
        names: file base names to note wherever they are (indicator file names from the packs).
        exclude: extra host paths not to walk.
        fs_policy: which mounted filesystems to enter.
        lockfile_names: exact file names of lockfiles to note (``uv.lock``, ``poetry.lock`` ...).
        requirements: also note ``requirements*.txt`` files as lockfiles.
        prune: directories not entered, by name or ``parent/name`` (:data:`DEFAULT_PRUNE`);
            each pattern beyond the default ones is reported as one coverage gap with a count.
    """

    names: FrozenSet[str] = frozenset()
    exclude: Tuple[str, ...] = ()
    fs_policy: FsPolicy = FsPolicy.LOCAL
    lockfile_names: FrozenSet[str] = frozenset()
    requirements: bool = False
    prune: FrozenSet[str] = DEFAULT_PRUNE


def read_mounts(path: str = "/proc/self/mounts") -> Dict[str, str]:
    """Return mount point -> filesystem type for the live system (empty when unreadable)."""
    mounts: Dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) >= 3:
                    point = fields[1].encode().decode("unicode_escape", "surrogateescape")
                    mounts[point] = fields[2]
    except OSError:
        return {}
    return mounts


class _Walker:
    def __init__(self, root: HostRoot, spec: WalkSpec, progress: Progress) -> None:
        self.root = root
        self.spec = spec
        self.progress = progress
        self.result = WalkResult()
        self.skip = frozenset(str(root.real(p)) for p in (*PRUNED, *spec.exclude))
        self.mounts = read_mounts() if root.is_live and spec.fs_policy is FsPolicy.LOCAL else {}
        self.root_dev = os.lstat(root.root).st_dev
        self.prune_names = frozenset(p for p in spec.prune if "/" not in p)
        self.prune_pairs = frozenset(p for p in spec.prune if "/" in p)
        self.noted = frozenset({"pyvenv.cfg", *spec.names, *spec.lockfile_names})
        self.cross_all = spec.fs_policy is FsPolicy.ALL or (
            spec.fs_policy is FsPolicy.LOCAL and not self.mounts
        )

    def run(self) -> WalkResult:
        stack = [str(self.root.root)]
        while stack:
            self._visit(stack.pop(), stack)
        for pattern, count in sorted(self.result.pruned.items()):
            if pattern not in DEFAULT_PRUNE:
                detail = f"{count} directories matching {pattern!r} not walked (pruned)"
                self.result.gaps.append(Gap("discovery", None, GapReason.PRUNED, detail))
        return self.result

    def _gap(self, real: str, reason: GapReason, detail: str) -> None:
        self.result.gaps.append(Gap("discovery", self.root.host(real), reason, detail))

    def _visit(self, directory: str, stack: List[str]) -> None:
        """List one directory: note what matters, push the directories to enter.

        The hot loop of a scan (every entry of the tree passes here once), so it is written for
        speed: files first (they outnumber directories), one set lookup per file name, and the
        per-directory tests inlined for the common case.
        """
        result = self.result
        result.dirs += 1
        if result.dirs % _PROGRESS_EVERY == 0:
            self.progress.advance(result.dirs)
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            self._gap(directory, gap_reason_for(exc), exc.strerror or str(exc))
            return
        noted = self.noted
        requirements = self.spec.requirements
        prune_names = self.prune_names
        pairs = self.prune_pairs
        parent_name = directory.rpartition("/")[2]
        files = 0
        for entry in entries:
            try:
                name = entry.name
                if entry.is_file(follow_symlinks=False):
                    files += 1
                    if name in noted or (
                        requirements and name[:12] == "requirements" and name[-4:] == ".txt"
                    ):
                        self._note_file(directory, entry)
                elif entry.is_dir(follow_symlinks=False):
                    if name in prune_names or (pairs and self._pruned(name, parent_name)):
                        self._count_prune(name, parent_name)
                    elif self._enter(entry):
                        stack.append(entry.path)
                elif entry.is_symlink():
                    self._check_link(entry.path)
            except OSError as exc:
                self._gap(entry.path, gap_reason_for(exc), exc.strerror or str(exc))
        result.files += files

    def _note_file(self, directory: str, entry: os.DirEntry[str]) -> None:
        """Note a file the walk looks out for (pyvenv.cfg, indicator names, lockfiles)."""
        result = self.result
        name = entry.name
        if name == "pyvenv.cfg":
            result.venv_prefixes.append(self.root.host(directory))
        if name in self.spec.names:
            result.named_files.append(self.root.host(entry.path))
        if name in self.spec.lockfile_names or (
            self.spec.requirements and name.startswith("requirements") and name.endswith(".txt")
        ):
            result.lockfiles.append(self.root.host(entry.path))

    def _pruned(self, name: str, parent_name: str) -> bool:
        """Return whether a directory matches a ``parent/name`` prune pattern."""
        return f"{parent_name}/{name}" in self.prune_pairs

    def _count_prune(self, name: str, parent_name: str) -> None:
        """Count a pruned directory under the pattern it matched (its name, else the pair)."""
        pattern = name if name in self.prune_names else f"{parent_name}/{name}"
        self.result.pruned[pattern] = self.result.pruned.get(pattern, 0) + 1

    def _enter(self, entry: os.DirEntry[str]) -> bool:
        path = entry.path
        if path in self.skip:
            return False
        if not self.cross_all and not self._crosses(entry):
            return False
        name = entry.name
        if name in SITE_DIR_NAMES:
            self.result.site_dirs.append(self.root.host(path))
        elif name == "conda-meta":
            self.result.conda_prefixes.append(self.root.host(os.path.dirname(path)))
        return True

    def _crosses(self, entry: os.DirEntry[str]) -> bool:
        policy = self.spec.fs_policy
        if policy is FsPolicy.ALL:
            return True
        if policy is FsPolicy.LOCAL:
            if not self.mounts:  # under --root, or /proc/self/mounts unreadable
                return True
            fstype = self.mounts.get(self.root.host(entry.path))
            if fstype is None or fstype in LOCAL_FS_TYPES:
                return True
            self._gap(entry.path, GapReason.NOT_CROSSED, f"{fstype} mount not entered")
            return False
        if entry.stat(follow_symlinks=False).st_dev == self.root_dev:
            return True
        self._gap(entry.path, GapReason.NOT_CROSSED, "other filesystem not entered")
        return False

    def _check_link(self, real: str) -> None:
        """Record a symlink that can never resolve (a loop); other links are not followed."""
        host = self.root.host(real)
        try:
            target = self.root.resolve(host)
            if self.root.is_live:
                os.stat(target)
        except HostReadError as exc:
            self._gap(real, exc.reason, exc.detail)
        except OSError as exc:
            reason = gap_reason_for(exc)
            if reason is GapReason.SYMLINK_LOOP:
                self._gap(real, reason, exc.strerror or str(exc))


def walk(root: HostRoot, spec: WalkSpec, progress: Optional[Progress] = None) -> WalkResult:
    """Walk the whole tree under ``root`` once and note environments, site dirs and named files."""
    return _Walker(root, spec, progress or NullProgress()).run()
