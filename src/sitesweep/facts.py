"""Hashes a bundle knows without reading the files: the RECORD rows installers wrote.

A RECORD row states the SHA-256 of the file it lists as installed. Where verification found the
file modified or missing, the row is not the file any more and is left out; elsewhere the row is
a fact about the file that later packs can match (a hash indicator, an artifact), and that the
bundle keeps in place of a copy of a clean release's files.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import FrozenSet, Iterator, List, Optional, Set, Tuple

from sitesweep.candidates import record_paths
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import HostFile
from sitesweep.model import HostPath


@lru_cache(maxsize=1 << 16)
def record_hex(spec: str) -> Optional[str]:
    """Return the hex SHA-256 of a RECORD hash spec (``sha256=<urlsafe b64>``), or ``None``.

    Remembered (bounded): the same release in many environments repeats the same specs."""
    algorithm, _, value = spec.partition("=")
    if algorithm != "sha256" or not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def recorded_hashes(
    inventory: Inventory, names: Optional[FrozenSet[str]] = None
) -> Iterator[Tuple[HostPath, str, Optional[int]]]:
    """(host path, SHA-256 hex, size) of every RECORD row a bundle holds, where the file is
    still what the row says (rows of files verification found modified or missing are left out);
    with ``names``, only the rows of distributions of those (canonical) names."""
    changed: Set[str] = set()
    for check in inventory.record_checks:
        changed.update(m.file.path for m in check.modified)
        changed.update(check.missing)
    for dist in inventory.distributions:
        if not dist.record or (names is not None and dist.name not in names):
            continue
        rows = {e.path: e for e in dist.record}
        site = dist.site_dir.rstrip("/")
        for path in record_paths(dist, inventory):
            if path in changed:
                continue
            entry = rows.get(path[len(site) + 1 :]) if path.startswith(site + "/") else None
            digest = record_hex(entry.hash) if entry else None
            if entry is not None and digest is not None:
                yield path, digest, entry.size


def hashed_files(inventory: Inventory) -> List[HostFile]:
    """Every file the inventory read and hashed: files of interest, .pth files, startup hooks,
    and files that fail their RECORD or are in none."""
    return [
        *inventory.files,
        *(p.file for p in inventory.pth_files),
        *(h.file for h in inventory.startup_hooks),
        *(f for c in inventory.record_checks for f in (*(m.file for m in c.modified), *c.unlisted)),
    ]
