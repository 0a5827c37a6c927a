"""Is this sitesweep the one that was installed? Verify our own files against our own RECORD.

A responder runs sitesweep on hosts whose Python may have been tampered with, right after a
dependency compromise. ``sitesweep self-check`` re-hashes every file the installer recorded for
the ``sitesweep`` distribution and reports the files that changed, vanished or appeared since.

This inspects **our own installation**, not scanned code, so ``importlib.metadata`` is the right
tool to find it; the RECORD itself is parsed by the same lenient reader a scan uses
(:func:`sitesweep.metadata.distinfo.parse_record`).

An editable install (``pip install -e``) has no RECORD of its sources: the self-check says so and
refuses to pass.

Bytecode (``__pycache__/*.pyc``) carries no hash in RECORD, yet Python runs it instead of the
verified source whenever its header matches the source's mtime and size, which anyone able to
write the file can forge. So every ``.pyc`` this interpreter could load (its cache tag, its magic
number) is checked against the verified source: the source is compiled (``compile`` only builds a
code object; nothing runs) and the ``.pyc``'s code object, read with ``marshal.loads``, must equal
it. A ``.pyc`` that differs is MODIFIED BYTECODE and the verdict is TAMPERED. Bytecode of another
interpreter (another cache tag or magic) is never loaded by this one and is only counted.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import marshal
import os
import sys
from dataclasses import dataclass
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import FrozenSet, List, Optional, Tuple

import sitesweep
from sitesweep import __version__
from sitesweep.bundle.custody import tool_digest
from sitesweep.metadata.distinfo import parse_record
from sitesweep.metadata.model import RecordEntry

DIST_NAME = "sitesweep"
_HASHES = frozenset({"sha256", "sha384", "sha512"})
_READ_LIMIT = 256 << 20


class SelfCheckStatus(str, Enum):
    """The verdict of a self-check."""

    OK = "ok"
    """Every recorded file matches its hash and nothing was added."""
    TAMPERED = "tampered"
    """A recorded file changed or is missing, or a file appeared in the package."""
    UNVERIFIABLE = "unverifiable"
    """No RECORD covers the running code (editable install, source checkout, no metadata)."""

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class SelfCheck:
    """What the self-check found.

    Attributes:
        status: the verdict.
        version: ``sitesweep.__version__``.
        tool_sha256: the digest of our sources that every bundle manifest records.
        record_sha256: SHA-256 of the RECORD file, comparable with the one in a published wheel.
        dist_info: where our ``.dist-info`` is, if found.
        package_dir: where the running ``sitesweep`` package was imported from.
        verified: number of files whose hash matched.
        modified, missing, unlisted: paths (relative to the install's site dir).
        unverified_bytecode: ``.pyc`` files of another interpreter (never loaded by this one).
        reason: why the check is unverifiable, or an empty string.
        modified_bytecode: ``.pyc`` files this interpreter would load whose code differs from
            their verified source (or that cannot be read or compared).
        verified_bytecode: ``.pyc`` files whose code equals their verified source's.
    """

    status: SelfCheckStatus
    version: str
    tool_sha256: str
    record_sha256: Optional[str]
    dist_info: Optional[str]
    package_dir: str
    verified: int
    modified: Tuple[str, ...] = ()
    missing: Tuple[str, ...] = ()
    unlisted: Tuple[str, ...] = ()
    unverified_bytecode: int = 0
    reason: str = ""
    modified_bytecode: Tuple[str, ...] = ()
    verified_bytecode: int = 0


def _record_digest(path: Path, spec: str) -> Optional[bool]:
    """Return whether ``path`` matches the RECORD hash ``algo=b64``; ``None`` if unreadable."""
    algo, _, expected = spec.partition("=")
    if algo not in _HASHES:
        return False
    digest = hashlib.new(algo)
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    return actual == expected


def _is_editable(dist: metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    if not text:
        return False
    try:
        info = json.loads(text).get("dir_info", {})
    except (ValueError, AttributeError):
        return False
    return isinstance(info, dict) and info.get("editable") is True


def _unlisted(base: Path, package: Path, listed: FrozenSet[str]) -> Tuple[List[str], List[Path]]:
    """Files under the package directory that RECORD does not list; and the bytecode files."""
    extra: List[str] = []
    bytecode: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name.endswith(".pyc") and Path(dirpath).name == "__pycache__":
                bytecode.append(path)
            elif path.relative_to(base).as_posix() not in listed:
                extra.append(path.relative_to(base).as_posix())
    return extra, bytecode


def bytecode_matches(pyc: Path) -> Optional[bool]:
    """Whether a ``__pycache__`` file's code equals its source's; ``None``: not ours to load.

    ``None`` for bytecode this interpreter never loads: another cache tag or magic number, or no
    source beside the ``__pycache__`` directory (Python only loads cached bytecode of a source).
    """
    stem, _, rest = pyc.name.partition(".")
    tag, _, opt = rest[: -len(".pyc")].partition(".")
    source = pyc.parent.parent / f"{stem}.py"
    if tag != sys.implementation.cache_tag or not source.is_file():
        return None
    optimize = int(opt[len("opt-") :]) if opt.startswith("opt-") and opt[4:].isdigit() else 0
    if opt and not opt.startswith("opt-"):
        return None
    try:
        data = pyc.read_bytes()
        if data[:4] != importlib.util.MAGIC_NUMBER:
            return None
        compiled = compile(
            source.read_bytes(), str(source), "exec", dont_inherit=True, optimize=optimize
        )
        # marshal.loads builds a code object from our own install's file; nothing is executed
        return bool(marshal.loads(data[16:]) == compiled)  # noqa: S302 - our own file, not scanned
    except (OSError, ValueError, EOFError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False


def _entry_path(base: Path, entry: RecordEntry) -> Path:
    return Path(os.path.normpath(base / entry.path))


def _verify(base: Path, entries: Tuple[RecordEntry, ...]) -> Tuple[int, List[str], List[str], int]:
    """Hash every recorded file: (verified, modified, missing, unhashed bytecode)."""
    verified, bytecode = 0, 0
    modified: List[str] = []
    missing: List[str] = []
    for entry in entries:
        path = _entry_path(base, entry)
        if not entry.hash:
            bytecode += entry.path.endswith(".pyc")
            if not path.exists() and not entry.path.endswith(".pyc"):
                missing.append(entry.path)
            continue
        match = _record_digest(path, entry.hash) if path.is_file() else None
        if match is None:
            missing.append(entry.path)
        elif match:
            verified += 1
        else:
            modified.append(entry.path)
    return verified, modified, missing, bytecode


def _unverifiable(reason: str) -> SelfCheck:
    return SelfCheck(
        status=SelfCheckStatus.UNVERIFIABLE,
        version=__version__,
        tool_sha256=tool_digest(),
        record_sha256=None,
        dist_info=None,
        package_dir=str(_package_dir()),
        verified=0,
        reason=reason,
    )


def _package_dir() -> Path:
    return Path(sitesweep.__file__).resolve().parent


def run_self_check() -> SelfCheck:
    """Verify the running sitesweep against the RECORD of the installed ``sitesweep``."""
    try:
        dist = metadata.distribution(DIST_NAME)
    except metadata.PackageNotFoundError:
        return _unverifiable("sitesweep is not installed (no .dist-info found): run from source?")
    record_text = dist.read_text("RECORD")
    if _is_editable(dist) or record_text is None:
        why = "editable install" if _is_editable(dist) else "no RECORD"
        return _unverifiable(f"{why}: the sources are not covered by an installer RECORD")
    entries, _problems = parse_record(record_text)
    base = Path(str(dist.locate_file(""))).resolve()
    listed = frozenset(os.path.normpath(e.path) for e in entries)
    info_dirs = sorted({p.split("/", 1)[0] for p in listed if ".dist-info/" in p})
    dist_info = str(base / info_dirs[0]) if info_dirs else None
    package = _package_dir()
    if not package.is_relative_to(base) or (
        package.relative_to(base).as_posix() + "/__init__.py" not in listed
    ):
        return _unverifiable(f"the running package {package} is not the one RECORD describes")
    verified, modified, missing, _recorded_bytecode = _verify(base, entries)
    unlisted, bytecode = _unlisted(base, package, listed)
    checked = {path: bytecode_matches(path) for path in bytecode}
    bad = tuple(p.relative_to(base).as_posix() for p, ok in checked.items() if ok is False)
    tampered = modified or missing or unlisted or bad
    return SelfCheck(
        status=SelfCheckStatus.TAMPERED if tampered else SelfCheckStatus.OK,
        version=__version__,
        tool_sha256=tool_digest(),
        record_sha256=hashlib.sha256(record_text.encode("utf-8", "surrogateescape")).hexdigest(),
        dist_info=dist_info,
        package_dir=str(package),
        verified=verified,
        modified=tuple(modified),
        missing=tuple(missing),
        unlisted=tuple(unlisted),
        unverified_bytecode=sum(ok is None for ok in checked.values()),
        modified_bytecode=bad,
        verified_bytecode=sum(ok is True for ok in checked.values()),
    )
