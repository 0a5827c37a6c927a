"""Which of the secrets a payload steals exist on this host, per user. Metadata only.

Nothing here opens a credential file: every fact comes from ``lstat`` (path, owner, mode, mtime,
size) or from a directory listing. Environment variables are found as assignments in shell
start-up and environment files already collected as persistence entries: the variable name and
the file are recorded, never the value.
"""

from __future__ import annotations

import fnmatch
import re
import stat
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from sitesweep.errors import HostReadError
from sitesweep.host.identity import User
from sitesweep.host.locations import expand, homes, is_dir, is_link, lstat_quiet, scope_of
from sitesweep.host.model import CredentialItem, CredentialKind, PersistenceEntry, PersistenceKind
from sitesweep.hostfs import FileInfo, HostRoot
from sitesweep.model import Gap, GapReason, HostPath

AREA = "credentials"

SEARCH_ROOTS: Tuple[str, ...] = ("/opt", "/srv", "/var/www", "/app", "/data", "/tmp")  # noqa: S108
"""Where file-name entries (``.env``, ``*.pem``) are searched, besides every home. The litellm
harvester searched these plus ``/var/lib`` (iocs.md 1.9); ``/var/lib`` is left out because it
holds container layers and package databases whose files are not the host's secrets."""

SEARCH_DEPTH = 6
"""Directory levels searched below each root: the harvester's own depth (iocs.md 1.9)."""

MAX_STORE_ITEMS = 200
"""Files named per credential-store directory."""

MAX_DIRS_PER_ROOT = 50_000
"""A search root with more directories than this is cut short (recorded as a gap)."""

PRUNED_NAMES = frozenset(
    {"site-packages", "dist-packages", "node_modules", "__pycache__", ".git", ".hg", ".svn"}
)
"""Directories not searched: library code and VCS objects, whose ``*.pem`` test certificates
and ``.env`` samples are not anybody's secrets."""

KUBERNETES_PATHS: Tuple[str, ...] = (
    "~/.kube/config",
    "/etc/kubernetes/admin.conf",
    "/etc/rancher/k3s/k3s.yaml",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
)
"""Kubeconfigs and the in-cluster service-account token: cluster access a payload can use."""

OS_PLACES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "windows": (
        # gcloud keeps its configuration under %APPDATA% on Windows
        ("~/.config/gcloud/", "~/AppData/Roaming/gcloud/"),
        # the shell history of Windows: PSReadLine's, for every PowerShell host
        ("~/.bash_history", "~/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/"
                            "ConsoleHost_history.txt"),
    ),
}  # fmt: skip
"""Where a pack's credential entry (``~/.config/gcloud/``) lives on another OS: (entry, path).
The item found keeps the pack's entry, so the pack's rotation list covers it."""

OS_STORES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "macos": (
        ("macos-keychain", "~/Library/Keychains"),
        ("macos-keychain", "/Library/Keychains"),
    ),
    "windows": (
        ("windows-credential-manager", "~/AppData/Local/Microsoft/Credentials"),
        ("windows-credential-manager", "~/AppData/Roaming/Microsoft/Credentials"),
        ("windows-credential-manager", "~/AppData/Local/Microsoft/Vault"),
        ("windows-credential-manager", "/ProgramData/Microsoft/Vault"),
        ("windows-credential-manager",
         "/Windows/System32/config/systemprofile/AppData/Local/Microsoft/Credentials"),
    ),
}  # fmt: skip
"""The OS's own credential stores, per OS: (entry, directory). Each file in them is recorded by
name (``login.keychain-db``, a Credential Manager blob); none is ever opened."""

OS_SEARCH_ROOTS: Dict[str, Tuple[str, ...]] = {
    "linux": SEARCH_ROOTS,
    "macos": ("/opt", "/usr/local/var", "/Users/Shared", "/private/tmp", "/Library/WebServer"),
    "windows": ("/inetpub", "/Users/Public", "/ProgramData/Jenkins", "/tools"),
}
"""Where file-name entries (``.env``, ``*.pem``) are searched besides every home, per OS."""

_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_ENV_KINDS = (PersistenceKind.SHELL, PersistenceKind.ENVIRONMENT)


def is_variable_entry(entry: str) -> bool:
    """Return whether a pack ``credentials`` entry names an environment variable."""
    return bool(_VARIABLE.match(entry))


class _Collector:
    def __init__(self, root: HostRoot, users: Sequence[User], exclude: Tuple[str, ...]) -> None:
        self.root = root
        self.homes = homes(users)
        self.exclude = frozenset(p.rstrip("/") for p in exclude)
        self.items: List[CredentialItem] = []
        self.gaps: List[Gap] = []
        self.visited: Set[str] = set()

    def gap(self, path: str, exc: HostReadError) -> None:
        if exc.reason is not GapReason.VANISHED:
            self.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))

    def item(
        self, entry: str, kind: CredentialKind, info: FileInfo, variable: Optional[str] = None
    ) -> None:
        self.items.append(
            CredentialItem(
                entry=entry,
                kind=kind,
                path=info.path,
                user=scope_of(info.path, self.homes),
                uid=info.uid,
                mode=info.mode,
                mtime=info.mtime,
                # A directory's size is its filesystem's bookkeeping (4096 on ext4, 0 in a tar
                # layer, the names' length on btrfs), not what it holds: 0, so a tree and its
                # image agree.
                size=0 if stat.S_ISDIR(info.mode) else info.size,
                variable=variable,
            )
        )

    def readable_homes(self) -> None:
        kept = []
        for name, home in self.homes:
            try:
                self.root.listdir(self.root.resolve_host(home))
            except HostReadError as exc:
                self.gap(home, exc)
                continue
            kept.append((name, home))
        self.homes = tuple(kept)

    def path_entry(self, entry: str, kind: Optional[CredentialKind] = None) -> None:
        want_dir = entry.endswith("/")
        for _scope, path in expand(entry.rstrip("/"), self.homes):
            info = lstat_quiet(self.root, path, AREA, self.gaps)
            if info is None or is_dir(info) != want_dir:
                continue
            found = kind or (CredentialKind.DIRECTORY if want_dir else CredentialKind.FILE)
            self.item(entry, found, info)

    def place(self, entry: str, pattern: str) -> None:
        """An OS's own place for a pack entry: recorded under the pack's entry."""
        want_dir = pattern.endswith("/")
        for _scope, path in expand(pattern.rstrip("/"), self.homes):
            info = lstat_quiet(self.root, path, AREA, self.gaps)
            if info is not None and is_dir(info) == want_dir:
                kind = CredentialKind.DIRECTORY if want_dir else CredentialKind.FILE
                self.item(entry, kind, info)

    def store(self, entry: str, pattern: str) -> None:
        """Every file of an OS credential store, by name (never opened)."""
        for _scope, path in expand(pattern, self.homes):
            try:
                real = self.root.resolve_host(path)
                entries = self.root.listdir(real)
            except HostReadError as exc:
                self.gap(path, exc)
                continue
            for child in sorted(entries, key=lambda e: e.name)[:MAX_STORE_ITEMS]:
                info = lstat_quiet(self.root, f"{path}/{child.name}", AREA, self.gaps)
                if info is not None and not is_link(info):
                    self.item(entry, CredentialKind.STORE, info)

    def search(self, patterns: Sequence[str], roots: Tuple[str, ...] = SEARCH_ROOTS) -> None:
        tops = [home for _, home in self.homes] + list(roots)
        any_match = _any_pattern(patterns)
        for top in tops:
            try:
                real = self.root.resolve_host(top)
            except HostReadError as exc:
                self.gap(top, exc)
                continue
            self._walk(real, patterns, any_match)

    def _walk(self, top: str, patterns: Sequence[str], any_match: re.Pattern[str]) -> None:
        stack: List[Tuple[str, int]] = [(top, 0)]
        dirs = 0
        while stack:
            directory, depth = stack.pop()
            if directory in self.visited or directory in self.exclude:
                continue
            self.visited.add(directory)
            dirs += 1
            if dirs > MAX_DIRS_PER_ROOT:
                detail = f"credential search stopped after {MAX_DIRS_PER_ROOT} directories"
                self.gaps.append(Gap(AREA, HostPath(top), GapReason.TOO_LARGE, detail))
                return
            try:
                entries = self.root.listdir(directory)
            except HostReadError as exc:
                self.gap(directory, exc)
                continue
            for entry in entries:
                child = f"{directory.rstrip('/')}/{entry.name}"
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if depth + 1 < SEARCH_DEPTH and entry.name not in PRUNED_NAMES:
                            stack.append((child, depth + 1))
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                if any_match.match(entry.name):  # one test for the common miss
                    self._match(child, entry.name, patterns)

    def _match(self, path: str, name: str, patterns: Sequence[str]) -> None:
        hits = [p for p in patterns if fnmatch.fnmatchcase(name, p)]
        info = lstat_quiet(self.root, path, AREA, self.gaps)
        if info is None or is_link(info):
            return
        for pattern in hits:
            self.item(pattern, CredentialKind.FILE, info)

    def variables(self, names: FrozenSet[str], entries: Sequence[PersistenceEntry]) -> None:
        for entry in entries:
            if entry.kind not in _ENV_KINDS:
                continue
            for var in entry.variables:
                if var in names:
                    info = FileInfo(
                        entry.path, entry.size, entry.mode, entry.uid, -1, entry.mtime, 0.0
                    )
                    self.item(var, CredentialKind.VARIABLE, info, variable=var)


def _any_pattern(patterns: Sequence[str]) -> re.Pattern[str]:
    """One compiled expression matching a name that any of the glob ``patterns`` matches."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def collect_credentials(
    root: HostRoot,
    users: Sequence[User],
    entries: FrozenSet[str],
    persistence: Sequence[PersistenceEntry] = (),
    exclude: Tuple[str, ...] = (),
    os_name: Optional[str] = None,
) -> Tuple[Tuple[CredentialItem, ...], Tuple[Gap, ...]]:
    """Find which credential entries exist on the host, and every Kubernetes access path.

    Args:
        root: the scanned host.
        users: accounts from ``/etc/passwd`` (``/root`` is always added).
        entries: the packs' ``credentials`` entries (see ``signatures/README.md``).
        persistence: collected persistence entries; their variable names are matched.
        exclude: host paths not searched (the bundle output).
        os_name: ``linux``, ``macos`` or ``windows``: the OS's own places for the entries
            (:data:`OS_PLACES`), its credential stores (:data:`OS_STORES`) and search roots;
            ``None`` (not known): every OS's.

    Returns:
        The items found (sorted by path, entry) and the gaps (unreadable homes and directories).
    """
    collector = _Collector(root, users, exclude)
    collector.readable_homes()
    names = frozenset(e for e in entries if is_variable_entry(e))
    paths = sorted(e for e in entries if e.startswith(("/", "~/")))
    patterns = sorted(e for e in entries if e not in names and e not in paths)
    for entry in paths:
        collector.path_entry(entry)
    for entry in KUBERNETES_PATHS:
        collector.path_entry(entry, CredentialKind.KUBERNETES)
    oses = [os_name] if os_name in OS_SEARCH_ROOTS else sorted(OS_SEARCH_ROOTS)
    wanted = set(entries)
    for name in oses:
        for entry, place in OS_PLACES.get(name, ()):
            if entry in wanted:
                collector.place(entry, place)
        for entry, directory in OS_STORES.get(name, ()):
            collector.store(entry, directory)
    if patterns:
        roots = tuple(dict.fromkeys(r for name in oses for r in OS_SEARCH_ROOTS[name]))
        collector.search(patterns, roots)
    collector.variables(names, persistence)
    unique = {(i.path, i.entry, i.kind.value, i.variable or ""): i for i in collector.items}
    return tuple(unique[k] for k in sorted(unique)), tuple(collector.gaps)
