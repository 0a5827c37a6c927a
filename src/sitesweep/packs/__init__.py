"""Signature packs: find them, load them, validate them.

A pack directory is a directory holding ``pack.toml`` (see ``signatures/README.md``). The
built-in packs ship inside the wheel as ``sitesweep/signatures``; in a source checkout (editable
install) they are read from the repository's top-level ``signatures/`` directory.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from sitesweep.errors import PackError, PackProblem
from sitesweep.packs.loader import PACK_FILE, load_pack
from sitesweep.packs.model import Pack, PackSet
from sitesweep.packs.yararules import compile_packs

__all__ = [
    "DIRECTORY_FIELD",
    "Pack",
    "PackSet",
    "builtin_signatures_dir",
    "load_pack",
    "load_packs",
    "yara_paths",
]

DIRECTORY_FIELD = "(directory)"
"""Field name of problems about a signatures directory rather than one pack."""

_BUILTIN_LABEL = "<built-in signatures>"


def builtin_signatures_dir() -> Optional[Path]:
    """Return the directory of the built-in packs, or ``None`` when it cannot be found.

    An installed wheel carries them as the package data directory ``sitesweep/signatures``. A
    source checkout has them in the top-level ``signatures/`` next to ``src/``.
    """
    packaged = importlib.resources.files("sitesweep") / "signatures"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return _checkout_signatures_dir()


def _checkout_signatures_dir() -> Optional[Path]:
    """Return ``<repo>/signatures`` when this module runs from a ``src/`` layout checkout."""
    here = Path(__file__).resolve()
    if here.parents[2].name != "src":
        return None
    candidate = here.parents[3] / "signatures"
    return candidate if candidate.is_dir() else None


def load_packs(extra_dirs: Sequence[Path] = (), builtin: bool = True) -> PackSet:
    """Load the built-in packs and the packs under ``extra_dirs``.

    Args:
        extra_dirs: each one is either a pack directory itself or a directory whose subdirectories
            are pack directories.
        builtin: whether to load the packs shipped with sitesweep.

    Returns:
        Every pack, sorted by id.

    Raises:
        PackError: carrying the problems of every pack and directory at once: an invalid pack, a
            directory that holds no pack, a missing built-in directory, or a pack id loaded twice.
    """
    problems: List[PackProblem] = []
    pack_dirs: List[Path] = []
    if builtin:
        pack_dirs.extend(_builtin_pack_dirs(problems))
    for directory in extra_dirs:
        pack_dirs.extend(_pack_dirs(directory, problems))
    packs = _load_all(_unique(pack_dirs), problems)
    _check_duplicate_ids(packs, problems)
    if problems:
        raise PackError(problems)
    ordered = tuple(sorted(packs, key=lambda pack: pack.id))
    return PackSet(ordered, yara=compile_packs([(p.id, yara_paths(p)) for p in ordered]))


def yara_paths(pack: Pack) -> List[Path]:
    """Return the absolute paths of a pack's YARA rule files."""
    return [Path(pack.source) / relative for relative in pack.yara_files]


def _builtin_pack_dirs(problems: List[PackProblem]) -> List[Path]:
    """Return the built-in pack directories; a missing built-in directory is a problem."""
    directory = builtin_signatures_dir()
    if directory is None:
        problems.append(
            PackProblem(_BUILTIN_LABEL, DIRECTORY_FIELD, "the built-in signatures are missing")
        )
        return []
    return _pack_dirs(directory, problems, may_be_pack=False)


def _pack_dirs(
    directory: Path, problems: List[PackProblem], *, may_be_pack: bool = True
) -> List[Path]:
    """Return ``directory`` if it is a pack, else its subdirectories that are packs (sorted)."""
    if may_be_pack and _is_pack(directory):
        return [directory]
    try:
        children = sorted(directory.iterdir())
    except OSError as exc:
        problems.append(PackProblem(str(directory), DIRECTORY_FIELD, _os_message(exc)))
        return []
    found = [child for child in children if _is_pack(child)]
    if not found:
        message = f"no {PACK_FILE} in this directory or its subdirectories"
        problems.append(PackProblem(str(directory), DIRECTORY_FIELD, message))
    return found


def _is_pack(directory: Path) -> bool:
    """Return whether ``directory`` holds a ``pack.toml`` file (an unreadable one counts as no)."""
    try:
        return (directory / PACK_FILE).is_file()
    except OSError:
        return False


def _os_message(exc: OSError) -> str:
    """Return a short reason for an unreadable directory."""
    if isinstance(exc, NotADirectoryError):
        return "not a directory"
    if isinstance(exc, FileNotFoundError):
        return "no such directory"
    return f"cannot list: {exc.strerror or exc}"


def _unique(directories: List[Path]) -> List[Path]:
    """Drop directories already listed (the same pack reached twice, e.g. given as extra dir)."""
    seen = set()
    result = []
    for directory in directories:
        key = directory.resolve()
        if key not in seen:
            seen.add(key)
            result.append(directory)
    return result


def _load_all(directories: List[Path], problems: List[PackProblem]) -> List[Pack]:
    """Load every pack, collecting the problems of the invalid ones."""
    loaded = (_load_one(directory, problems) for directory in directories)
    return [pack for pack in loaded if pack is not None]


def _load_one(directory: Path, problems: List[PackProblem]) -> Optional[Pack]:
    """Load one pack; on failure record its problems and return ``None``."""
    try:
        return load_pack(directory)
    except PackError as exc:
        problems.extend(exc.problems)
    return None


def _check_duplicate_ids(packs: List[Pack], problems: List[PackProblem]) -> None:
    """Record every pack whose id was already loaded from another directory."""
    first: Dict[str, Pack] = {}
    for pack in packs:
        earlier = first.setdefault(pack.id, pack)
        if earlier is not pack:
            message = f"duplicate pack id {pack.id!r} (also loaded from {earlier.source})"
            problems.append(PackProblem(str(Path(pack.source) / PACK_FILE), "id", message))
