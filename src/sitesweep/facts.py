"""Hashes a bundle knows without reading the files: the RECORD rows installers wrote.

A RECORD row states the SHA-256 of the file it lists as installed. Where verification found the
file modified or missing, the row is not the file any more and is left out; elsewhere the row is
a fact about the file that later packs can match (a hash indicator, an artifact), and that the
bundle keeps in place of a copy of a clean release's files.
"""

from __future__ import annotations

import heapq
from typing import Any, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple, cast

from sitesweep.candidates import RecordLayout, install_bounds, record_hex, record_rows, row_path
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import HostFile
from sitesweep.model import HostPath


def recorded_hashes(
    inventory: Inventory,
    names: Optional[FrozenSet[str]] = None,
    digests: Optional[FrozenSet[str]] = None,
) -> Iterator[Tuple[HostPath, str, Optional[int]]]:
    """(host path, SHA-256 hex, size) of every RECORD row a bundle holds, where the file is
    still what the row says (rows of files verification found modified or missing are left out);
    with ``names``, only the rows of distributions of those (canonical) names; with ``digests``,
    only the rows whose SHA-256 is one of those (a RECORD holding none of them is not walked).

    A RECORD shared by many installs (the same release in 20 environments) is decoded once
    (:func:`sitesweep.candidates.record_rows`); each install only joins its site dir to it.
    """
    changed: Set[str] = set()
    for check in inventory.record_checks:
        changed.update(m.file.path for m in check.modified)
        changed.update(check.missing)
    for dist in inventory.distributions:
        if not dist.record or (names is not None and dist.name not in names):
            continue
        rows = record_rows(dist.record)
        if digests is not None and digests.isdisjoint(rows.digests):
            continue
        site, bound = install_bounds(dist, inventory)
        found = _rows_of(rows.layout, site, bound)
        for path, digest, size in found:
            if changed and path in changed:
                continue
            if digests is not None and digest not in digests:
                continue
            yield path, digest, size


def _rows_of(
    rows: RecordLayout, site: str, bound: str
) -> Iterable[Tuple[HostPath, str, Optional[int]]]:
    """(host path, SHA-256 hex, size) of one install's rows, in RECORD order."""
    head = site + "/"
    if not head.startswith(bound):  # never for a site dir its environment holds: row by row
        return _resolved(rows, range(len(rows.kept)), head, bound)
    plain = zip(map(head.__add__, rows.hrels), rows.hexes, rows.sizes)
    if not rows.odd:
        return cast(Iterable[Tuple[HostPath, str, Optional[int]]], plain)
    odd = [i for i, _ in rows.odd]
    return (
        row
        for _, row in heapq.merge(
            zip(rows.hindex, plain),
            zip(odd, _resolved(rows, odd, head, bound, all_rows=True)),
            key=lambda pair: pair[0],
        )
        if row is not None
    )


def _resolved(
    rows: RecordLayout, indices: Iterable[int], head: str, bound: str, all_rows: bool = False
) -> Iterator[Any]:
    """The rows at ``indices`` of ``kept``, each resolved lexically and looked up by the path it
    resolves to (``None`` for a row outside the environment or without a SHA-256, when
    ``all_rows``; else left out)."""
    for i in indices:
        rel = rows.kept[i]
        path = row_path(head, rel)
        entry = (
            rows.entry(path[len(head) :])
            if path.startswith(bound) and path.startswith(head)
            else None
        )
        digest = record_hex(entry.hash) if entry is not None else None
        if entry is not None and digest is not None:
            yield HostPath(path), digest, entry.size
        elif all_rows:
            yield None


def hashed_files(inventory: Inventory) -> List[HostFile]:
    """Every file the inventory read and hashed: files of interest, .pth files, startup hooks,
    and files that fail their RECORD or are in none."""
    return [
        *inventory.files,
        *(p.file for p in inventory.pth_files),
        *(h.file for h in inventory.startup_hooks),
        *(f for c in inventory.record_checks for f in (*(m.file for m in c.modified), *c.unlisted)),
    ]
