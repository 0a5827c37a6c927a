"""One walk of the host's tree that notes everything discovery and the file checks need.

The walk goes through the host door (directory descriptors from the root, or an image backend),
never through a real path. It is iterative (no recursion limit) and never follows a symlink (a
linked directory is reached by its real path inside the root), except a ``site-packages`` or
``dist-packages`` that is a link: Python follows it, so the walk records it as a site dir, named
as a link, resolved inside the root. It prunes pseudo filesystems, never opens a file, and
records every directory it could not enter as a coverage gap.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

from sitesweep import apart
from sitesweep.discovery.model import FsPolicy
from sitesweep.door.base import (
    DIR,
    FILE,
    KEPT_DIR,
    KEPT_FILE,
    KEPT_OTHER,
    LINK,
    Listed,
    PackageListing,
)
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
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

_WHOLE = 1 << 30
"""``keep`` of a directory listed whole (a package ``WalkSpec.whole_listing_names`` names)."""

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
    linked_sites: Dict[HostPath, HostPath] = field(default_factory=dict)
    """Site dirs that are symlinks (the path walked -> the directory it resolves to)."""
    config_files: List[HostPath] = field(default_factory=list)
    """Files named like a developer tool's configuration (``WalkSpec.config_names``)."""
    package_listings: Dict[str, PackageListing] = field(default_factory=dict)
    """Directory path -> what the walk kept of its listing, for the directories of site dirs'
    packages down to ``WalkSpec.listing_depth`` (every directory of a package
    ``WalkSpec.whole_listing_names`` names); the release-shape reader and the unlisted-file
    search use them instead of listing those directories again."""


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
        config_names: file names of developer-tool configuration to note (AI-assistant
            settings, MCP server lists, editor tasks, git hooks, ``.npmrc``).
    """

    names: FrozenSet[str] = frozenset()
    exclude: Tuple[str, ...] = ()
    fs_policy: FsPolicy = FsPolicy.LOCAL
    lockfile_names: FrozenSet[str] = frozenset()
    requirements: bool = False
    prune: FrozenSet[str] = DEFAULT_PRUNE
    config_names: FrozenSet[str] = frozenset()
    package_dir_names: FrozenSet[str] = frozenset()
    """Directory names noted like site dirs (``app_packages``, ``pkgs``: packages kept outside a
    ``site-packages``); discovery decides which of them are package directories."""
    listing_depth: int = -1
    """Keep a :data:`PackageListing` of every directory of a site dir's packages (the site dir's
    subdirectories without a dot in their name) this many levels below the package (``0``: the
    package directory only; ``-1``: none)."""
    listing_filter: Optional[Callable[[str], bool]] = None
    """Which file names a kept listing names (``None``: none; only the count)."""
    whole_listing_names: FrozenSet[str] = frozenset()
    """Packages (a site dir's subdirectories by name) whose every directory, at every depth, is
    kept whole (every entry): the packs' targets, whose files no RECORD lists are searched."""


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


Entry = Tuple[str, int, int]
"""A directory to walk: (path, inode its parent listed, keep): keep -1 a plain directory, -2 a
site dir, >= 0 a directory of a site dir's package (see ``_Walker._visit_listed``)."""

TOP: Entry = ("/", 0, -1)


class _Walker:
    def __init__(self, root: HostRoot, spec: WalkSpec, progress: Progress) -> None:
        self.root = root
        self.spec = spec
        self.progress = progress
        self.result = WalkResult()
        self.skip = frozenset(_normal(p) for p in (*PRUNED, *spec.exclude))
        self.mounts = read_mounts() if root.is_live and spec.fs_policy is FsPolicy.LOCAL else {}
        self.root_dev = root.stat_result("/").st_dev
        self.prune_names = frozenset(p for p in spec.prune if "/" not in p)
        self.prune_pairs = frozenset(p for p in spec.prune if "/" in p)
        self.site_names = SITE_DIR_NAMES | spec.package_dir_names
        self.noted = frozenset(
            {"pyvenv.cfg", *spec.names, *spec.lockfile_names, *spec.config_names}
        )
        self.cross_all = spec.fs_policy is FsPolicy.ALL or (
            spec.fs_policy is FsPolicy.LOCAL and not self.mounts
        )
        self.listed_sites = self.site_names if spec.listing_depth >= 0 else frozenset()
        self.listings: Dict[PackageListing, PackageListing] = {}
        if spec.whole_listing_names and spec.listing_depth < 0:
            raise ValueError("whole listings are kept with a listing depth (0 or more)")

    def run(self) -> WalkResult:
        self.descend([TOP])
        return self.finish(self.result)

    def descend(self, stack: List[Entry]) -> None:
        """Walk every directory on ``stack`` and all below them, the last one pushed first."""
        visit, listed = self._visit, self._visit_listed
        while stack:
            directory, inode, keep = stack.pop()
            if keep == -1:
                visit(directory, inode, stack)
            else:
                listed(directory, inode, keep, stack)

    def visit(self, entry: Entry, stack: List[Entry]) -> None:
        """List one directory (as :meth:`descend` does), pushing its subdirectories on ``stack``."""
        directory, inode, keep = entry
        if keep == -1:
            self._visit(directory, inode, stack)
        else:
            self._visit_listed(directory, inode, keep, stack)

    def finish(self, result: WalkResult) -> WalkResult:
        """Add to a whole walk's result one gap per prune pattern beyond the default ones."""
        for pattern, count in sorted(result.pruned.items()):
            if pattern not in DEFAULT_PRUNE:
                detail = f"{count} directories matching {pattern!r} not walked (pruned)"
                result.gaps.append(Gap("discovery", None, GapReason.PRUNED, detail))
        return result

    def _gap(self, host: str, reason: GapReason, detail: str) -> None:
        self.result.gaps.append(Gap("discovery", HostPath(host), reason, detail))

    def _visit(self, directory: str, inode: int, stack: List[Entry]) -> None:
        """List one directory through the door: note what matters, push the directories to enter.

        The hot loop of a scan (every entry of the tree passes here once), so it is written for
        speed: files first (they outnumber directories), one set lookup per file name, and the
        per-directory tests inlined for the common case.
        """
        result = self.result
        result.dirs += 1
        if result.dirs % _PROGRESS_EVERY == 0:
            self.progress.advance(result.dirs)
        try:
            entries = self.root.scandir(directory, inode)
        except HostReadError as exc:
            self._gap(directory, exc.reason, exc.detail)
            return
        noted = self.noted
        requirements = self.spec.requirements
        prune_names = self.prune_names
        pairs = self.prune_pairs
        sites = self.listed_sites
        parent_name = directory.rpartition("/")[2]
        base = "" if directory == "/" else directory
        files = 0
        for name, kind, child_inode in entries:
            if kind == FILE:
                files += 1
                if name in noted or (
                    requirements and name[:12] == "requirements" and name[-4:] == ".txt"
                ):
                    self._note_file(base, name)
            elif kind == DIR:
                if name in prune_names or (pairs and self._pruned(name, parent_name)):
                    self._count_prune(name, parent_name)
                elif self._enter(base + "/" + name, name):
                    stack.append((base + "/" + name, child_inode, -2 if name in sites else -1))
            elif kind == LINK:
                self._check_link(base + "/" + name, name)
        result.files += files

    def _visit_listed(self, directory: str, inode: int, keep: int, stack: List[Entry]) -> None:
        """:meth:`_visit` for a site dir (``keep`` -2) and the directories of its packages: the
        same notes, and a :data:`PackageListing` of a directory ``keep`` (>= 0) levels above the
        last one kept (whole when ``keep`` is above ``WalkSpec.listing_depth``); a site dir's
        subdirectories without a dot (its packages) are kept ``WalkSpec.listing_depth`` levels
        down, or whole at every depth when ``WalkSpec.whole_listing_names`` names them."""
        entries = self._list(directory, inode)
        if entries is None:
            return
        result = self.result
        spec = self.spec
        noted = self.noted
        whole = keep > spec.listing_depth
        keep_file = spec.listing_filter if keep >= 0 and not whole else None
        parent_name = directory.rpartition("/")[2]
        site = parent_name in self.listed_sites
        base = "" if directory == "/" else directory
        requirements = spec.requirements
        kept: List[Tuple[str, int]] = []
        append = kept.append
        files = 0
        for name, kind, child_inode in entries:
            if kind == FILE:
                files += 1
                if name in noted or (
                    requirements and name[:12] == "requirements" and name[-4:] == ".txt"
                ):
                    self._note_file(base, name)
                if whole or (keep_file is not None and keep_file(name)):
                    append((name, KEPT_FILE))
            elif kind == DIR:
                if keep >= 0:
                    append((name, KEPT_DIR))
                self._push(base, parent_name, name, child_inode, stack, keep, site)
            else:
                if whole:
                    append((name, KEPT_OTHER))
                if kind == LINK:
                    self._check_link(base + "/" + name, name)
        result.files += files
        if keep >= 0:
            listing: PackageListing = (len(entries), (), b"")
            if kept:
                kept.sort()
                names, kinds = zip(*kept)
                listing = (len(entries), names, bytes(kinds))
            # the same release installed in many environments gives equal listings: kept once
            result.package_listings[directory] = self.listings.setdefault(listing, listing)

    def _list(self, directory: str, inode: int) -> Optional[List[Listed]]:
        """List a directory for :meth:`_visit_listed` (``None``: a gap, recorded)."""
        result = self.result
        result.dirs += 1
        if result.dirs % _PROGRESS_EVERY == 0:
            self.progress.advance(result.dirs)
        try:
            return self.root.scandir(directory, inode)
        except HostReadError as exc:
            self._gap(directory, exc.reason, exc.detail)
            return None

    def _push(
        self,
        base: str,
        parent_name: str,
        name: str,
        inode: int,
        stack: List[Entry],
        keep: int,
        site: bool,
    ) -> None:
        """Push a subdirectory of a directory :meth:`_visit_listed` lists, unless pruned."""
        if name in self.prune_names or (self.prune_pairs and self._pruned(name, parent_name)):
            self._count_prune(name, parent_name)
        elif self._enter(base + "/" + name, name):
            stack.append((base + "/" + name, inode, self._child_keep(name, keep, site)))

    def _child_keep(self, name: str, keep: int, site: bool) -> int:
        """The ``keep`` of a subdirectory ``name`` of a directory kept ``keep`` levels up."""
        spec = self.spec
        child = -1
        if keep > spec.listing_depth:
            child = keep  # listed whole, at every depth
        elif keep > 0 and name not in ("__pycache__", "node_modules"):
            child = keep - 1
        if site and "." not in name:  # a package of this site dir
            whole = name in spec.whole_listing_names
            child = max(child, _WHOLE if whole else spec.listing_depth)
        elif child < 0 and name in self.listed_sites:
            child = -2  # a site dir: listed like one, itself not kept
        return child

    def _note_file(self, base: str, name: str) -> None:
        """Note a file the walk looks out for (pyvenv.cfg, indicator names, lockfiles)."""
        result = self.result
        path = HostPath(base + "/" + name)
        if name == "pyvenv.cfg":
            result.venv_prefixes.append(HostPath(base or "/"))
        if name in self.spec.names:
            result.named_files.append(path)
        if name in self.spec.config_names:
            result.config_files.append(path)
        if name in self.spec.lockfile_names or (
            self.spec.requirements and name.startswith("requirements") and name.endswith(".txt")
        ):
            result.lockfiles.append(path)

    def _pruned(self, name: str, parent_name: str) -> bool:
        """Return whether a directory matches a ``parent/name`` prune pattern."""
        return f"{parent_name}/{name}" in self.prune_pairs

    def _count_prune(self, name: str, parent_name: str) -> None:
        """Count a pruned directory under the pattern it matched (its name, else the pair)."""
        pattern = name if name in self.prune_names else f"{parent_name}/{name}"
        self.result.pruned[pattern] = self.result.pruned.get(pattern, 0) + 1

    def _enter(self, path: str, name: str) -> bool:
        if path in self.skip:
            return False
        if not self.cross_all and not self._crosses(path):
            return False
        if name in self.site_names:
            self.result.site_dirs.append(HostPath(path))
        elif name == "conda-meta":
            self.result.conda_prefixes.append(HostPath(path.rpartition("/")[0] or "/"))
        return True

    def _crosses(self, path: str) -> bool:
        policy = self.spec.fs_policy
        if policy is FsPolicy.ALL:
            return True
        if policy is FsPolicy.LOCAL:
            if not self.mounts:  # under --root, or /proc/self/mounts unreadable
                return True
            fstype = self.mounts.get(path)
            if fstype is None or fstype in LOCAL_FS_TYPES:
                return True
            self._gap(path, GapReason.NOT_CROSSED, f"{fstype} mount not entered")
            return False
        try:
            if self.root.stat_result(path).st_dev == self.root_dev:
                return True
        except HostReadError as exc:
            self._gap(path, exc.reason, exc.detail)
            return False
        self._gap(path, GapReason.NOT_CROSSED, "other filesystem not entered")
        return False

    def _check_link(self, path: str, name: str) -> None:
        """Resolve a symlink inside the root: a loop is a gap; a linked site dir is followed.

        Other links are not followed: what they point at is walked where it lies.
        """
        try:
            target = self.root.resolve_host(path)
        except HostReadError as exc:
            self._gap(path, exc.reason, exc.detail)
            return
        if name in SITE_DIR_NAMES:
            self._linked_site(path, target)

    def _linked_site(self, path: str, target: HostPath) -> None:
        """A ``site-packages`` that is a symlink: Python follows it, so the scan does too
        (inside the root), and names the link; one that leads nowhere inside the root is a gap."""
        try:
            is_dir = stat.S_ISDIR(self.root.stat_result(target).st_mode)
        except HostReadError:
            is_dir = False
        if is_dir:
            self.result.site_dirs.append(HostPath(path))
            self.result.linked_sites[HostPath(path)] = target
            return
        try:
            stored = self.root.readlink(path)
        except HostReadError:
            stored = target
        if self.root.is_live:
            self._gap(path, GapReason.VANISHED, f"site dir links to {stored!r}: not a directory")
        else:
            detail = f"site dir links to {stored!r}, which is no directory inside the root"
            self._gap(path, GapReason.OUTSIDE_ROOT, detail)


def _normal(host: str) -> str:
    """A host path with duplicate and trailing slashes removed (how the walk writes paths)."""
    return "/" + "/".join(p for p in host.split("/") if p)


def walk(root: HostRoot, spec: WalkSpec, progress: Optional[Progress] = None) -> WalkResult:
    """Walk the whole tree under ``root`` once and note environments, site dirs and named files.

    Where a worker may be forked (:func:`sitesweep.apart.can_fork`), the tree is shared with it
    (:mod:`sitesweep.discovery.split`): the same result, on two cores."""
    walker = _Walker(root, spec, progress or NullProgress())
    if apart.can_fork(root, walker.progress):
        from sitesweep.discovery.split import walk_in_two  # here: split imports this module

        return walk_in_two(walker)
    return walker.run()
