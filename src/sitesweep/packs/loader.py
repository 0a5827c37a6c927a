"""Load and validate one signature pack (``<pack-id>/pack.toml``).

The loader is strict: a pack that is wrong in any way is refused, because a silently ignored
indicator is a missed compromise. It never stops at the first problem: every problem in the file
is collected (file, dotted field name such as ``affected[0].specifiers[1]``, message) and raised at
once as one :class:`~sitesweep.errors.PackError`, so a pack author fixes everything in one round.

The format is specified in ``signatures/README.md``; keep the two in step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from sitesweep.errors import PackError
from sitesweep.packs import fields, tables
from sitesweep.packs.fields import Problems, Table
from sitesweep.packs.model import Pack

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

__all__ = [
    "FILE_FIELD",
    "FORMAT_VERSION",
    "PACK_FILE",
    "SYNTAX_FIELD",
    "load_pack",
]

PACK_FILE = "pack.toml"
"""Name of the data file that makes a directory a pack."""

FORMAT_VERSION = 1
"""The only value of ``format`` this loader reads."""

FILE_FIELD = "(file)"
"""Field name of problems about the file itself (missing, unreadable, not UTF-8)."""

SYNTAX_FIELD = "(syntax)"
"""Field name of a TOML syntax error; the message carries the line and column."""

_TOP_KEYS = frozenset(
    {
        "format", "id", "title", "version", "references", "advisories", "window", "affected",
        "files", "artifacts", "network", "persistence", "credentials", "remediation", "yara",
    }
)  # fmt: skip


def load_pack(directory: Path) -> Pack:
    """Load and validate the pack in ``directory``.

    Args:
        directory: the pack directory; it holds ``pack.toml`` and its name is the pack id.

    Returns:
        The validated pack, with ``source`` set to ``directory`` and ``sha256`` to the pack's
        content hash (:func:`pack_digest`: ``pack.toml`` and every YARA file it lists).

    Raises:
        PackError: carrying every problem found, when the pack is missing, unreadable, not valid
            TOML or not a valid format-1 pack.
    """
    file = directory / PACK_FILE
    out = Problems(str(file))
    raw = _read(file, out)
    doc = None if raw is None else _decode(raw, out)
    pack = None
    if raw is not None and doc is not None:
        pack = _parse(doc, directory, hashlib.sha256(raw).hexdigest(), out)
    if raw is None or pack is None or out.items:
        raise PackError(out.items)
    return dataclasses.replace(pack, sha256=pack_digest(raw, directory, pack.yara_files))


def pack_digest(toml: bytes, directory: Path, yara_files: Tuple[str, ...]) -> str:
    """SHA-256 over ``pack.toml`` and each listed YARA file (name and content, in order).

    A manifest that records this hash pins the rules too: editing a ``.yar`` file changes it.
    """
    sha = hashlib.sha256()
    for name, data in ((PACK_FILE, toml), *((y, (directory / y).read_bytes()) for y in yara_files)):
        sha.update(name.encode("utf-8", "surrogateescape") + b"\0")
        sha.update(hashlib.sha256(data).digest())
    return sha.hexdigest()


# --- reading -------------------------------------------------------------------------------------


def _read(file: Path, out: Problems) -> Optional[bytes]:
    """Return the bytes of ``file``, or record why it cannot be read."""
    try:
        if not file.is_file():
            out.add(FILE_FIELD, f"{PACK_FILE} not found or not a regular file")
            return None
        return file.read_bytes()
    except OSError as exc:
        out.add(FILE_FIELD, f"cannot read: {exc.strerror or exc}")
    return None


def _decode(raw: bytes, out: Problems) -> Optional[Dict[str, Any]]:
    """Parse ``raw`` as UTF-8 TOML, or record the decoding or syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.add(FILE_FIELD, f"not valid UTF-8 (byte {exc.start})")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.add(SYNTAX_FIELD, f"invalid TOML: {exc}")
    return None


# --- the pack ------------------------------------------------------------------------------------


def _parse(doc: Table, directory: Path, digest: str, out: Problems) -> Optional[Pack]:
    """Validate a decoded document; return the pack, or ``None`` when anything was wrong."""
    fields.check_unknown(doc, _TOP_KEYS, "", out)
    if not _format_supported(doc, out):
        return None
    pack_id = _pack_id(doc, directory, out)
    title = fields.string(doc, "title", "", out)
    version = fields.string(doc, "version", "", out)
    references = tables.references(doc, out)
    advisories = tables.advisories(doc, out)
    window_start, window_end = tables.window(doc, out)
    affected = tables.affected(doc, out)
    files = tables.files(doc, out)
    artifacts = tables.artifacts(doc, out)
    network = tables.network(doc, out)
    persistence = tables.persistence(doc, out)
    credentials = tables.credentials(doc, out)
    remediation, playbook = tables.remediation(doc, out)
    yara_files = tables.yara(doc, directory, out)
    tables.check_unique(doc, ("files", "persistence"), "id", "indicator id", out)
    tables.check_unique(doc, ("artifacts",), "sha256", "artifact SHA-256", out)
    if out.items or pack_id is None or title is None or version is None:
        return None
    return Pack(
        id=pack_id,
        title=title,
        version=version,
        references=references,
        advisories=advisories,
        window_start=window_start,
        window_end=window_end,
        affected=affected,
        files=files,
        artifacts=artifacts,
        network=network,
        persistence=persistence,
        credentials=credentials,
        remediation=remediation,
        playbook=playbook,
        yara_files=yara_files,
        source=str(directory),
        sha256=digest,
    )


def _format_supported(doc: Table, out: Problems) -> bool:
    """Check ``format``; return False when the rest must not be read as format 1."""
    value = fields.get(doc, "format", "", out, required=True)
    if value is fields.MISSING:
        return True
    if type(value) is not int:
        out.add("format", f"expected an integer, got {fields.describe(value)}")
        return True
    if value != FORMAT_VERSION:
        message = f"unsupported format {value}; this sitesweep reads format {FORMAT_VERSION}"
        out.add("format", message)
        return False
    return True


def _pack_id(doc: Table, directory: Path, out: Problems) -> Optional[str]:
    """Return the pack id, which must be a valid id and equal the directory name."""
    pack_id = fields.ident(doc, "id", "", out)
    expected = _directory_name(directory)
    if pack_id is not None and pack_id != expected:
        out.add("id", f"{pack_id!r} does not match the pack directory name {expected!r}")
    return pack_id


def _directory_name(directory: Path) -> str:
    """Return the name of ``directory`` as given (``.`` and ``..`` resolved, symlinks not)."""
    return Path(os.path.normpath(directory.absolute())).name
