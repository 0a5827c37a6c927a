"""Code that runs when installed packages are imported, and the shape of what a release carries.

Read statically, never imported. For each site dir the collector reads:

- each top-level package's ``__init__.py`` and each top-level module, and the same-package
  modules those import at import time (one level down, a few per package);
- the modules a ``.pth`` line imports (and the functions it calls on them), which run at every
  interpreter start;
- for each top-level package of a pure-Python release (``WHEEL`` tags all ``*-none-any``) or of
  no known release: the native code (``.so``/``.pyd``/``.dylib``/``.dll``, or ELF/PE/Mach-O
  magic), JavaScript bundles (with the traits of a stealer) and JavaScript runtime binaries
  (Bun, Node, Deno) it carries.

What the code does is recorded as traits (the ``.pth`` grader's features and reasons); the checks
in :mod:`sitesweep.checks.importtime` grade their combination. Work is bounded: modules larger
than :data:`MODULE_LIMIT` and anything beyond the scan's :class:`ImportBudget` are coverage gaps.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

from sitesweep.budget import file_identity
from sitesweep.door.base import KEPT_DIR, KEPT_FILE, HostEntry, PackageListing, listing_of
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.alternation import AlternationSearch
from sitesweep.metadata.distinfo import read_record
from sitesweep.metadata.model import Distribution, PthFile
from sitesweep.model import Gap, GapReason, HostPath, StrEnum

AREA = "import-time"
MODULE_LIMIT = 512 << 10
"""Modules larger than this are not analysed (a gap); real ``__init__.py`` files are small."""
FOLLOW_PER_PACKAGE = 8
"""Same-package modules followed from one package's ``__init__`` (or one ``.pth`` target)."""
SHAPE_ENTRIES = 4000
"""Directory entries looked at per package when listing what a release carries."""
SHAPE_DEPTH = 6
JS_LIMIT = 4 << 20
"""JavaScript files larger than this are listed, not read."""
MAX_LISTED = 20

NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
JS_SUFFIXES = (".js", ".mjs", ".cjs")
JS_RUNTIMES = frozenset({"bun", "bun.exe", "node", "node.exe", "deno", "deno.exe", "bunx"})
LAUNCHERS = re.compile(r"^(?:t|w|cli|gui)(?:-?(?:32|64))?(?:-arm(?:64)?)?\.exe$")
"""Script launcher stubs that pure releases (pip, setuptools, distlib) legitimately carry."""
_MAGIC = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
          b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")  # fmt: skip
"""ELF, PE (MZ), Mach-O (both byte orders, 32/64 bit) and fat Mach-O."""

JS_TRAITS: Tuple[Tuple[str, re.Pattern[bytes]], ...] = (
    (
        "names credentials",
        re.compile(
            rb"\.ssh/|id_rsa|id_ed25519|\.aws/credentials|\.npmrc|\.pypirc|\.git-credentials|"
            rb"\.kube/config|\.docker/config|wallet|keystore|Local Storage|leveldb|Login Data|"
            rb"GITHUB_TOKEN|NPM_TOKEN|AWS_SECRET|PYPI_TOKEN|(?<![\w$)\]?])\.env\b"
        ),
    ),
    (
        "reads the host",
        re.compile(
            rb"readFileSync|\breadFile\(|createReadStream|fs\.promises|\bfs/promises|"
            rb"Bun\.file\(|Bun\.env\b|Deno\.readTextFile|Deno\.readFile|Deno\.env\b|\bhomedir\(\)|"
            rb"process\.env(?:\.|\[\s*[\x27\x22`])(?:GITHUB_TOKEN|NPM_TOKEN|AWS_SECRET|PYPI_TOKEN)|"
            rb"JSON\.stringify\(\s*process\.env\s*\)|Object\.(?:entries|keys|values)\(\s*process\.env\b|"
            rb"\.\.\.process\.env\b"
        ),
    ),
    (
        "sends data out",
        re.compile(
            rb"https?\.request|\bfetch\(|XMLHttpRequest|axios|webhook|discord(?:app)?\.com/api|"
            rb"api\.telegram|WebSocket|net\.connect|dns\.resolve|\.post\("
        ),
    ),
    (
        "runs commands",
        re.compile(rb"child_process|execSync|spawnSync|\beval\(|new Function\(|Bun\.spawn"),
    ),
    ("surveys the host", re.compile(rb"os\.homedir|os\.hostname|os\.userInfo|readdirSync")),
    ("decodes data", re.compile(rb"Buffer\.from\([^)]{0,200}base64|\batob\(")),
)
"""(trait, regex) for JavaScript carried by a Python release. Each regex is a flat alternation.

A credential's name (``~/.ssh/id_rsa``, a ``.env`` file, ``GITHUB_TOKEN``) is only text: a web
UI's bundle names them in help texts and test prompts, and ``process.env`` is no ``.env`` file.
What reads them is a file or environment read a browser cannot make: ``fs`` reads, the home
directory, a token variable read from ``process.env`` or the whole environment collected, Bun's
or Deno's environment (what a Node, Bun or Deno stealer does). :func:`js_traits` adds
``reads credentials`` when a file shows both."""
_JS_SEARCH = tuple((name, AlternationSearch.of(regex)) for name, regex in JS_TRAITS)
""":data:`JS_TRAITS` searched by literal (:mod:`sitesweep.metadata.alternation`): the same
answers as the regexes, about 5x faster on real JavaScript. An alternative added to a trait
stays fast when it is a literal or starts (after ``\\b`` or a lookbehind) with one;
``tests/checks/test_js_traits_search.py`` fails when one would be searched by its regex."""
READS_CREDENTIALS = "reads credentials"
_SUSPECT_JS = ("reads credentials", "runs commands", "decodes data", "reads the host")


def _js_rank(js: JsFile) -> Tuple[int, ...]:
    """Sort key that lists a release's most suspect JavaScript first, so that the
    :data:`MAX_LISTED` kept (and graded) include a stealer among a web UI's hundreds of chunks
    (litellm 1.82.6 carries 221); listing order is kept among equals (the sort is stable)."""
    return tuple(0 if t in js.traits else 1 for t in _SUSPECT_JS)


def js_traits(data: bytes) -> Tuple[str, ...]:
    """The :data:`JS_TRAITS` of a JavaScript text, and ``reads credentials`` when it names
    credentials and has a way to read the host's files or environment."""
    traits = [name for name, search in _JS_SEARCH if search.search(data)]
    if "names credentials" in traits and "reads the host" in traits:
        traits.insert(0, READS_CREDENTIALS)
    return tuple(traits)


class ModuleRole(StrEnum):
    """Why a module runs."""

    PACKAGE = "package-init"
    MODULE = "top-level-module"
    IMPORTED = "imported-at-import"
    PTH_TARGET = "pth-target"


@dataclass(frozen=True)
class ImportTimeModule:
    """A module whose import-time code does something worth grading.

    Attributes:
        path: host path of the module.
        site_dir: the site dir it is installed in.
        module: its dotted name.
        role: why it runs (a package's ``__init__``, imported by one, imported by a ``.pth``).
        via: the ``.pth`` file or module that runs it (itself for a package's ``__init__``).
        sha256, size: of its content.
        distribution, version: the release it belongs to, when known.
        pure_release: whether that release's ``WHEEL`` says pure Python (``None``: unknown).
        features: what its import-time code does (the ``.pth`` grader's feature names).
        reasons: one sentence per behaviour, with its line.
        native_loads: libraries shipped beside it that it hands to ctypes/cffi loaders.
        startup_writes: startup locations named by code that writes files.
        unparsable: it does not parse as Python (so it cannot be imported); text hits only.
    """

    path: HostPath
    site_dir: HostPath
    module: str
    role: ModuleRole
    via: HostPath
    sha256: str
    size: int
    distribution: Optional[str] = None
    version: Optional[str] = None
    pure_release: Optional[bool] = None
    features: Tuple[str, ...] = ()
    reasons: Tuple[str, ...] = ()
    native_loads: Tuple[str, ...] = ()
    startup_writes: Tuple[str, ...] = ()
    unparsable: bool = False


@dataclass(frozen=True)
class JsFile:
    """A JavaScript file a Python release carries, with the traits its text shows."""

    path: HostPath
    size: int
    traits: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PackageShape:
    """What a top-level package carries besides Python, when that is unusual.

    Attributes:
        package: the package directory.
        site_dir: its site dir.
        distribution, version: the owning release, when known.
        wheel_tags: the ``Tag`` lines of its ``WHEEL``.
        pure_release: whether ``WHEEL`` says pure Python (``None``: no WHEEL or no owner found).
        native: native code files (first :data:`MAX_LISTED`).
        js_files: JavaScript files (first :data:`MAX_LISTED`), with traits.
        runtimes: JavaScript runtime binaries (Bun, Node, Deno).
    """

    package: HostPath
    site_dir: HostPath
    distribution: Optional[str] = None
    version: Optional[str] = None
    wheel_tags: Tuple[str, ...] = ()
    pure_release: Optional[bool] = None
    native: Tuple[HostPath, ...] = ()
    js_files: Tuple[JsFile, ...] = ()
    runtimes: Tuple[HostPath, ...] = ()


@dataclass
class ImportBudget:
    """What one scan may spend on import-time code: modules parsed and bytes read."""

    modules: int = 40_000
    bytes: int = 400 << 20
    spent_out: Set[str] = field(default_factory=set)
    """Site dirs where the budget ran out (one gap each)."""

    def take(self, size: int) -> bool:
        """Spend one module of ``size`` bytes; ``False`` once the budget is gone."""
        if self.modules <= 0 or self.bytes < size:
            return False
        self.modules -= 1
        self.bytes -= size
        return True


@dataclass(frozen=True)
class _Owner:
    name: str
    version: str
    tags: Tuple[str, ...]
    pure: Optional[bool]


@dataclass
class ImportTimeResult:
    """What the import-time collector observed in every site dir."""

    modules: List[ImportTimeModule] = field(default_factory=list)
    shapes: List[PackageShape] = field(default_factory=list)
    gaps: List[Gap] = field(default_factory=list)
    analysed: int = 0
    modules_reused: int = 0
    """Modules analysed without reading their bytes again: a file (device, inode, size, mtime,
    ctime) read before, a hard link in another environment, whose traits were known."""
    js_searched: int = 0
    """JavaScript files whose bytes were searched for traits."""
    js_reused: int = 0
    """JavaScript files whose traits came from the same bytes searched before (the same file
    linked, or a copy of it, in another environment)."""


Listings = Mapping[str, PackageListing]
"""Directory -> what the walk kept of the directories of site dirs' packages
(:data:`~sitesweep.door.base.PackageListing`: every subdirectory, the files :func:`maybe_carried`
lets through, or every entry of the packs' targets)."""

_MAGIC_SUFFIXES = (".bin", ".exe", ".node")
"""Names besides those without a dot whose first bytes are read for native-code magic."""
_CARRIED_SUFFIXES = (*JS_SUFFIXES, *NATIVE_SUFFIXES, *_MAGIC_SUFFIXES)


def maybe_carried(name: str) -> bool:
    """Whether a file of this name may be native code, JavaScript or a JavaScript runtime (what
    the release-shape reader looks at; everything else it passes over by name alone)."""
    if "." not in name:
        return True
    lower = name.lower()
    return lower.endswith(_CARRIED_SUFFIXES) or ".so." in lower or lower in JS_RUNTIMES


def _beside(root: HostRoot, module: str, loads: Sequence[str]) -> Tuple[str, ...]:
    """The native loads that take a library shipped beside the module: a path built from
    ``__file__``, or a literal name present in the module's directory (system libraries such as
    ``kernel32`` or ``libc.so.6`` are not)."""
    directory = module.rpartition("/")[0]
    kept: List[str] = []
    for load in loads:
        if load.endswith("beside the module"):
            kept.append(load)
            continue
        name = load.replace("\\", "/").rsplit("/", 1)[-1]
        try:
            if name and root.lstat(f"{directory}/{name}").is_regular:
                kept.append(f"{load} (shipped beside the module)")
        except HostReadError:
            continue
    return tuple(kept)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_tags(text: str) -> Tuple[Tuple[str, ...], Optional[bool]]:
    """The ``Tag`` values of a ``WHEEL`` file, and whether they say pure Python."""
    tags = tuple(
        line.partition(":")[2].strip()
        for line in text.splitlines()
        if line.lower().startswith("tag:")
    )
    if not tags:
        return (), None
    return tags, all(t.endswith("-none-any") for t in tags)


class _SiteReader:
    """Reads one site dir's import-time code and package shapes."""

    def __init__(
        self,
        root: HostRoot,
        site: HostPath,
        dists: Sequence[Distribution],
        budget: ImportBudget,
        cache: Dict[object, object],
        out: ImportTimeResult,
        listings: Listings,
        js_traits: Optional[Dict[object, Tuple[str, ...]]] = None,
    ) -> None:
        self.root = root
        self.listings = listings
        self.js_traits: Dict[object, Tuple[str, ...]] = {} if js_traits is None else js_traits
        """JavaScript traits by (device, inode, size, mtime, ctime) and by content digest."""
        self.site = site
        self.base = site.rstrip("/")
        self.dists = dists
        self.budget = budget
        self.cache = cache
        self.out = out
        self.owners: Dict[str, _Owner] = {}
        self.seen: Set[str] = set()

    # -- owners ------------------------------------------------------------------------------
    def load_owners(self, packages: Sequence[str]) -> None:
        """Map top-level package names to their release (by name, else ``top_level.txt``)."""
        wanted = {_norm(p): p for p in packages}
        for dist in self.dists:
            if not str(dist.path).endswith(".dist-info"):
                continue
            tops = [wanted[_norm(dist.name)]] if _norm(dist.name) in wanted else []
            if not tops:  # other top-levels of a matched release are found by RECORD if needed
                text = self._small(f"{dist.path}/top_level.txt")
                tops = [t.strip() for t in (text or "").splitlines() if t.strip() in packages]
            if not tops:
                continue
            tags, pure = wheel_tags(self._small(f"{dist.path}/WHEEL") or "")
            owner = _Owner(dist.name, dist.version, tags, pure)
            for top in tops:
                self.owners.setdefault(top, owner)

    def _not_claimed(self, files: List[HostPath], owner: str) -> List[HostPath]:
        """``files`` less those another release's RECORD lists (``google/`` holds pure
        google-auth and protobuf's native ``_upb``); RECORDs are read only here."""
        claimed: Set[str] = set()
        for dist in self.dists:
            if dist.name == owner or not str(dist.path).endswith(".dist-info"):
                continue
            rows = (
                dist.record
                if dist.record_rows is not None
                else read_record(self.root, dist, []).record
            )
            claimed.update(f"{self.base}/{row.path}" for row in rows)
        return [f for f in files if f not in claimed]

    def _owner_by_record(self, package: str) -> Optional[_Owner]:
        """The release whose RECORD lists files of ``package`` (RECORDs read only here, for a
        package carrying something unusual that no name or ``top_level.txt`` attributes)."""
        for dist in self.dists:
            if not str(dist.path).endswith(".dist-info"):
                continue
            rows = (
                dist.record
                if dist.record_rows is not None
                else read_record(self.root, dist, []).record
            )
            if any(row.path.startswith(f"{package}/") for row in rows):
                tags, pure = wheel_tags(self._small(f"{dist.path}/WHEEL") or "")
                owner = _Owner(dist.name, dist.version, tags, pure)
                self.owners[package] = owner
                return owner
        return None

    def _small(self, path: str) -> Optional[str]:
        try:
            return self.root.read_text(path, 64 << 10)
        except HostReadError:
            return None

    # -- modules -----------------------------------------------------------------------------
    def module_file(self, dotted: str) -> Optional[Tuple[str, bool, os.stat_result]]:
        """The host path of ``dotted`` in this site dir, whether it is a package, and its
        ``lstat``."""
        rel = dotted.replace(".", "/")
        for path, is_package in ((f"{self.base}/{rel}/__init__.py", True),
                                 (f"{self.base}/{rel}.py", False)):  # fmt: skip
            try:
                info = self.root.stat_result(path)
            except HostReadError:
                continue
            if stat.S_ISREG(info.st_mode):
                return path, is_package, info
        return None

    def analyse(
        self,
        path: str,
        dotted: str,
        role: ModuleRole,
        via: str,
        entries: FrozenSet[str] = frozenset(),
        follow: bool = True,
        is_package: bool = False,
        info: Optional[os.stat_result] = None,
    ) -> None:
        """Read one module, record its traits, and follow its same-package imports once.

        ``info`` is the module's ``lstat`` when the caller made it. A file whose (device, inode,
        size, mtime) was read before (a hard link of another environment's copy) is not read
        again when its traits are known."""
        from sitesweep.checks.importtime_ast import Traits, module_traits

        key = f"{path}\0{','.join(sorted(entries))}"
        if key in self.seen:
            return
        self.seen.add(key)
        try:
            if info is None:
                info = self.root.stat_result(path)
            if info.st_size > MODULE_LIMIT:
                detail = f"module of {info.st_size} bytes not analysed (limit {MODULE_LIMIT})"
                self.out.gaps.append(Gap(AREA, HostPath(path), GapReason.TOO_LARGE, detail))
                return
            if not self.budget.take(info.st_size):
                self.budget.spent_out.add(self.site)
                return
            digest, size, data = self._content(path, info, (dotted, is_package, entries))
        except HostReadError as exc:
            if exc.reason is not GapReason.VANISHED:  # a directory without __init__.py
                self.out.gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
            return
        self.out.analysed += 1
        memo = (digest, dotted, is_package, entries)
        cached = self.cache.get(memo)
        traits = (
            cached
            if isinstance(cached, Traits)
            else module_traits(data or b"", dotted, is_package, entries)
        )
        self.cache[memo] = traits
        owner = self.owners.get(dotted.split(".")[0])
        loads = _beside(self.root, path, traits.native_loads)
        if traits.features or loads or role is ModuleRole.PTH_TARGET:
            self.out.modules.append(
                ImportTimeModule(
                    path=HostPath(path),
                    site_dir=self.site,
                    module=dotted,
                    role=role,
                    via=HostPath(via),
                    sha256=digest,
                    size=size,
                    distribution=owner.name if owner else None,
                    version=owner.version if owner else None,
                    pure_release=owner.pure if owner else None,
                    features=traits.features,
                    reasons=traits.reasons,
                    native_loads=loads,
                    startup_writes=traits.startup_writes,
                    unparsable=traits.text_only,
                )
            )
        if not follow:
            return
        for name in traits.imports[: FOLLOW_PER_PACKAGE * 2]:
            found = self.module_file(name)
            if found is None:
                continue
            self.analyse(found[0], name, ModuleRole.IMPORTED, path, follow=False,
                         is_package=found[1], info=found[2])  # fmt: skip

    def _content(
        self, path: str, info: os.stat_result, use: Tuple[str, bool, FrozenSet[str]]
    ) -> Tuple[str, int, Optional[bytes]]:
        """A module's content digest, size and bytes; no bytes (``None``: not read) when the same
        file (device, inode, size, mtime, ctime: a hard link of another environment's copy) was read
        before and the traits of its bytes for ``use`` (dotted name, package, entries) are known."""
        from sitesweep.checks.importtime_ast import Traits

        same_file = file_identity(info)
        digest = self.cache.get(same_file) if same_file is not None else None
        if isinstance(digest, str) and isinstance(self.cache.get((digest, *use)), Traits):
            self.out.modules_reused += 1
            return digest, info.st_size, None
        data = self.root.read_bytes(path, MODULE_LIMIT)
        digest = hashlib.sha256(data).hexdigest()
        if same_file is not None and len(data) == info.st_size:  # read whole: this file's bytes
            self.cache[same_file] = digest
        return digest, len(data), data

    def pth_targets(self, pth: PthFile) -> None:
        """Analyse the modules a ``.pth`` file's executable lines import (and what they call)."""
        from sitesweep.checks.importtime_ast import pth_entries

        for line in pth.exec_lines:
            for module, funcs in pth_entries(line.text).items():
                found = self.module_file(module)
                if found is not None:
                    self.analyse(found[0], module, ModuleRole.PTH_TARGET, pth.file.path,
                                 frozenset(funcs), is_package=found[1], info=found[2])  # fmt: skip

    # -- shapes ------------------------------------------------------------------------------
    def shape(self, package: str) -> None:
        """List what a package of a pure (or unknown) release carries besides Python."""
        owner = self.owners.get(package)
        if owner is not None and owner.pure is False:
            return
        native, js, runtimes = self._carried(f"{self.base}/{package}")
        if not (native or js or runtimes):
            return
        if owner is None:
            owner = self._owner_by_record(package)
            if owner is not None and owner.pure is False:
                return
        if native and owner is not None and owner.pure:
            native = self._not_claimed(native, owner.name)  # namespace packages share a dir
            if not (native or js or runtimes):
                return
        self.out.shapes.append(
            PackageShape(
                package=HostPath(f"{self.base}/{package}"),
                site_dir=self.site,
                distribution=owner.name if owner else None,
                version=owner.version if owner else None,
                wheel_tags=owner.tags if owner else (),
                pure_release=owner.pure if owner else None,
                native=tuple(native[:MAX_LISTED]),
                js_files=tuple(sorted(js, key=_js_rank)[:MAX_LISTED]),
                runtimes=tuple(runtimes[:MAX_LISTED]),
            )
        )

    def _carried(self, top: str) -> Tuple[List[HostPath], List[JsFile], List[HostPath]]:
        """Native files, JavaScript and JS runtimes below ``top`` (bounded walk).

        A directory the walk kept (:data:`~sitesweep.door.base.PackageListing`) is not listed
        again: it keeps every subdirectory and at least the files :func:`maybe_carried` lets
        through, in the order of a listing, so what is found, in what order and where the bound
        stops, is what listing it here would give.
        """
        native: List[HostPath] = []
        js: List[JsFile] = []
        runtimes: List[HostPath] = []
        stack = [(top, 0)]
        looked = 0
        listings = self.listings
        while stack and looked < SHAPE_ENTRIES:
            directory, depth = stack.pop()
            kept = listings.get(directory)
            if kept is None:
                try:
                    kept = listing_of(self.root.listdir(directory))
                except HostReadError:
                    continue
            count, names, kinds = kept
            looked += count
            for name, kind in zip(names, kinds):
                if kind == KEPT_DIR:
                    path = f"{directory}/{name}"
                    if name == "node_modules":
                        js.append(JsFile(HostPath(path), 0, ("node_modules directory",)))
                    elif depth < SHAPE_DEPTH and name != "__pycache__":
                        stack.append((path, depth + 1))
                elif kind == KEPT_FILE:
                    self._classify(name, f"{directory}/{name}", native, js, runtimes)
        return native, js, runtimes

    def _classify(
        self,
        name: str,
        path: str,
        native: List[HostPath],
        js: List[JsFile],
        runtimes: List[HostPath],
    ) -> None:
        lower = name.lower()
        if lower.endswith(JS_SUFFIXES):
            js.append(self._js(path))
            return
        if lower in JS_RUNTIMES:
            runtimes.append(HostPath(path))
            return
        if lower.endswith(NATIVE_SUFFIXES) or ".so." in lower:
            native.append(HostPath(path))
            return
        if "." in name and not lower.endswith(_MAGIC_SUFFIXES):
            return
        if LAUNCHERS.match(lower):
            return  # the Windows script launchers pip, setuptools and distlib ship
        if self._magic(path):
            if lower.startswith(("bun", "node", "deno")):
                runtimes.append(HostPath(path))
            else:
                native.append(HostPath(path))

    def _magic(self, path: str) -> bool:
        try:
            with self.root.open_nofollow(path) as fd:
                head = fd.read(4)
        except (HostReadError, OSError):
            return False
        return any(head.startswith(m) for m in _MAGIC)

    def _js(self, path: str) -> JsFile:
        """A JavaScript file and its traits, searched once per content in a scan: the same
        file (device, inode, size, mtime, ctime) is not read again, and the same bytes (a copy in
        another environment) are not searched again."""
        try:
            st = self.root.stat_result(path)
        except HostReadError:
            return JsFile(HostPath(path), 0, ("unreadable",))
        size = st.st_size
        if size > JS_LIMIT or size < 64:
            return JsFile(HostPath(path), size, ())
        same_file = file_identity(st)
        known = self.js_traits.get(same_file) if same_file is not None else None
        if known is not None:
            self.out.js_reused += 1
            return JsFile(HostPath(path), size, known)
        try:
            data = self.root.read_bytes(path, JS_LIMIT)
        except HostReadError:
            return JsFile(HostPath(path), size, ("unreadable",))
        digest = hashlib.sha256(data).digest()
        traits = self.js_traits.get(digest)
        if traits is None:
            self.out.js_searched += 1
            traits = js_traits(data)
            self.js_traits[digest] = traits
        else:
            self.out.js_reused += 1
        if same_file is not None and len(data) == size:  # read whole: this file's bytes
            self.js_traits[same_file] = traits
        return JsFile(HostPath(path), size, traits)


class ImportTimeReader:
    """Reads import-time code and package shapes, one site dir at a time, under one budget.

    Args:
        root: the scanned host.
        dists: every installed distribution (their ``WHEEL`` and ``top_level.txt`` are read).
        pths: every ``.pth`` file (their executable lines name the modules they run).
        budget: what the scan may spend; a fresh default budget when ``None``.
        listings: what the walk kept of the package directories it listed (:data:`Listings`);
            the others are listed here.
    """

    def __init__(
        self,
        root: HostRoot,
        dists: Sequence[Distribution],
        pths: Sequence[PthFile],
        budget: Optional[ImportBudget] = None,
        listings: Optional[Listings] = None,
    ) -> None:
        self.root = root
        self.listings: Listings = listings or {}
        self.budget = budget or ImportBudget()
        self.result = ImportTimeResult()
        self.cache: Dict[object, object] = {}
        """Module traits by (content digest, dotted name, is a package, entries); the content digest
        of module files read by (device, inode, size, mtime, ctime)."""
        self.js_traits: Dict[object, Tuple[str, ...]] = {}
        self.dists: Dict[str, List[Distribution]] = {}
        for dist in dists:
            self.dists.setdefault(dist.site_dir, []).append(dist)
        self.pths: Dict[str, List[PthFile]] = {}
        for pth in pths:
            self.pths.setdefault(pth.site_dir, []).append(pth)

    def site(self, site: HostPath) -> None:
        """Read one site dir."""
        try:
            entries = self.root.listdir(site)
        except HostReadError:
            return  # the site-dirs collector recorded this site dir's gap already
        reader = _SiteReader(
            self.root,
            site,
            self.dists.get(site, []),
            self.budget,
            self.cache,
            self.result,
            self.listings,
            self.js_traits,
        )
        packages, modules = _top_level(entries)
        reader.load_owners(packages)
        for pth in self.pths.get(site, []):
            reader.pth_targets(pth)
        for package in packages:
            init = f"{reader.base}/{package}/__init__.py"
            reader.analyse(init, package, ModuleRole.PACKAGE, init, is_package=True)
            reader.shape(package)
        for module in modules:
            path = f"{reader.base}/{module}.py"
            reader.analyse(path, module, ModuleRole.MODULE, path)

    def finish(self) -> ImportTimeResult:
        """The result, with one gap per site dir where the budget ran out."""
        for spent in sorted(self.budget.spent_out):
            detail = (
                "import-time code budget spent: some modules of this site dir were not analysed"
            )
            self.result.gaps.append(Gap(AREA, HostPath(spent), GapReason.TIMEOUT, detail))
        return self.result


def collect_import_time(
    root: HostRoot,
    sites: Sequence[HostPath],
    dists: Sequence[Distribution],
    pths: Sequence[PthFile],
    budget: Optional[ImportBudget] = None,
) -> ImportTimeResult:
    """Read the import-time code and package shapes of every site dir (no per-site guard)."""
    reader = ImportTimeReader(root, dists, pths, budget)
    for site in sites:
        reader.site(site)
    return reader.finish()


def _top_level(entries: Sequence[HostEntry]) -> Tuple[List[str], List[str]]:
    """The package directories and single-file modules of a site dir listing."""
    packages: List[str] = []
    modules: List[str] = []
    for entry in entries:
        stem, _, ext = entry.name.partition(".")
        if not stem.isidentifier() or stem in ("sitecustomize", "usercustomize"):
            continue
        try:
            if not ext and entry.is_dir(follow_symlinks=False):
                packages.append(entry.name)
            elif ext == "py" and entry.is_file(follow_symlinks=False):
                modules.append(stem)
        except OSError:
            continue
    return packages, modules
