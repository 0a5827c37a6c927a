"""Chain of custody: who collected, on which case, with which exact tool and packs.

The manifest records the SHA-256 of every installed file of the tool (so a responder can compare
it with a known-good install) and of every pack, with the host identity, times and command.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

from sitesweep import __version__
from sitesweep.exports.common import iso_utc
from sitesweep.host.live_identity import LiveHost


@dataclass(frozen=True)
class Custody:
    """What the responder says about the collection (``--case-id``, ``--examiner``, ``--note``)."""

    case_id: Optional[str] = None
    examiner: Optional[str] = None
    note: Optional[str] = None


NO_CUSTODY = Custody()
"""No case id, examiner or note given."""


@lru_cache(maxsize=1)
def tool_files() -> Dict[str, str]:
    """SHA-256 of every installed file of the sitesweep package, by path inside it.

    Bytecode caches are left out: they change with every interpreter that imports the package.
    """
    package = Path(__file__).resolve().parents[1]
    found: Dict[str, str] = {}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def tool_digest() -> str:
    """One SHA-256 over :func:`tool_files` (path and content hash of every file)."""
    sha = hashlib.sha256()
    for rel, digest in tool_files().items():
        sha.update(rel.encode())
        sha.update(bytes.fromhex(digest))
    return sha.hexdigest()


def command_line(argv: Tuple[str, ...]) -> str:
    """The exact command, shell-quoted so it can be read (and rerun) unambiguously."""
    return shlex.join(argv)


def custody_doc(custody: Custody) -> Dict[str, Optional[str]]:
    """The manifest's ``custody`` section."""
    return {"case_id": custody.case_id, "examiner": custody.examiner, "note": custody.note}


def live_host_doc(live: Optional[LiveHost]) -> Dict[str, object]:
    """Boot time and addresses for the manifest's ``host`` section (empty when not live)."""
    if live is None:
        return {}
    return {
        "boot_time": iso_utc(live.boot_time) if live.boot_time is not None else None,
        "addresses": list(live.addresses),
    }


def tool_doc() -> Dict[str, object]:
    """The manifest's ``tool`` section: version, overall hash, and every installed file's hash."""
    return {
        "name": "sitesweep",
        "version": __version__,
        "sha256": tool_digest(),
        "files": dict(tool_files()),
    }
