"""Bounded gap lists: per (area, reason, distribution or directory), a few gaps and a count.

A hostile distribution can ship a forged RECORD naming hundreds of thousands of files that do
not exist; every stage that looks at those files (the YARA pass, the bundle's evidence copies)
then has one gap per file, and a 600,000-row RECORD made coverage.json and the manifest tens of
megabytes of the same sentence. Gaps are therefore grouped by where they are: the distribution
whose RECORD lists the path (:class:`Owners`), else the path's directory. Of a group of one area
and one reason, the first :data:`MAX_GAPS_PER_GROUP` by path are kept as they are and the rest
become ONE gap at the distribution (or directory) saying how many more there were: nothing
unchecked is dropped silently, the count is exact. A list no group of which is over the limit is
left exactly as it was (same gaps, same order).

:class:`GapBound` does it as gaps come (its memory stays bounded: the YARA pass feeds it file by
file); :func:`bounded_gaps` bounds a whole list, where the result's gaps tuple is assembled
(:mod:`sitesweep.engine`, :meth:`sitesweep.outcome.ScanResult.observations`) and where the
bundle writer's own gaps are kept.
"""

from __future__ import annotations

import posixpath
import re
import threading
import weakref
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from sitesweep.candidates import plain_rel
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import Distribution, RecordEntry
from sitesweep.model import Gap, HostPath

__all__ = ["MAX_GAPS_PER_GROUP", "GapBound", "Owners", "bounded_gaps", "owners_of"]

MAX_GAPS_PER_GROUP = 20
"""Gaps kept as they are per (area, reason, distribution or directory); the rest are counted in
one more gap."""

_SUMMARY = re.compile(r"[0-9]+ more (files listed in the RECORD of|paths in) .* had this gap \(")
"""The detail of a gap that stands for a group's rest (:func:`_summary`): bounding an already
bounded list (``analyze`` reads the scan's gaps back) keeps it, and its count, as it is."""

_Rows = Tuple[RecordEntry, ...]
_Key = Tuple[str, str, str]
"""(area, reason, where): where = the owning distribution's path, or the path's directory."""


class Owners:
    """Which distribution's RECORD lists a host path, for the distributions whose rows the
    inventory holds (the first by path when several do). Only a gap list longer than
    :data:`MAX_GAPS_PER_GROUP` asks.

    A path is looked up as (its site dir, its site-relative path) in a set of the rows of its
    RECORD: identical RECORDs share one tuple of rows (the same release in many environments),
    so they share one set, and no host path is built per row (a map of every listed host path
    was 1.8 M new strings for a forged RECORD of 600,000 rows in 3 environments). Rows that
    resolve outside the site dir (``../../bin/x``) are not found: their gaps group by directory.
    """

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._lock = threading.Lock()
        self._sites: Optional[Dict[str, List[Distribution]]] = None
        self._site_of: Dict[str, Optional[str]] = {}
        """Directory -> the site dir holding it (``None``: none)."""
        self._firsts: Dict[str, Dict[str, List[Tuple[Distribution, FrozenSet[str]]]]] = {}
        """Site dir -> first path component -> the distributions listing something there, each
        with the site-relative paths its RECORD lists."""
        self._rels: Dict[int, Tuple[_Rows, FrozenSet[str]]] = {}
        """Rows tuple (by id, held) -> its site-relative paths, resolved lexically."""

    def of(self, path: str) -> Optional[Distribution]:
        """The distribution whose RECORD lists ``path``, if any.

        What is worked out once (the site dir of a directory, a site's index) is looked up
        without the lock: a forged RECORD makes millions of gaps, each asking."""
        cut = path.rfind("/")
        directory = path[:cut] if cut > 0 else "/"
        site = self._site_of.get(directory, "")
        if site == "":
            with self._lock:
                site = self._site(directory)
        if site is None:
            return None
        index = self._firsts.get(site)
        if index is None:
            with self._lock:
                index = self._by_first(site)
        rel = path[len(site) + 1 :]
        slash = rel.find("/")
        for dist, rels in index.get(rel if slash < 0 else rel[:slash], ()):
            if rel in rels:
                return dist
        return None

    def _site(self, directory: str) -> Optional[str]:
        if self._sites is None:
            by_site: Dict[str, List[Distribution]] = {}
            for dist in sorted(self._inventory.distributions, key=lambda d: d.path):
                if dist.record:
                    by_site.setdefault(dist.site_dir.rstrip("/"), []).append(dist)
            self._sites = by_site
        sites = self._sites
        found = self._site_of.get(directory, "")
        if found != "":
            return found
        at = directory
        while at not in sites:
            up = posixpath.dirname(at)
            if up == at:
                self._site_of[directory] = None
                return None
            at = up
        self._site_of[directory] = at
        return at

    def _listed(self, rows: _Rows) -> Tuple[_Rows, FrozenSet[str]]:
        found = self._rels.get(id(rows))
        if found is None or found[0] is not rows:
            rels = frozenset(
                e.path if plain_rel(e.path) else posixpath.normpath(e.path)
                for e in rows
                if e.path and not e.path.startswith("/")
            )
            found = self._rels[id(rows)] = (rows, rels)
        return found

    def _by_first(self, site: str) -> Dict[str, List[Tuple[Distribution, FrozenSet[str]]]]:
        index = self._firsts.get(site)
        if index is None:
            index = {}
            for dist in (self._sites or {}).get(site, ()):
                rels = self._listed(dist.record)[1]
                for first in {r.split("/", 1)[0] for r in rels}:
                    index.setdefault(first, []).append((dist, rels))
            self._firsts[site] = index  # whole before it is seen
        return index


_LAST: List[Tuple[weakref.ref[Inventory], Owners]] = []
_LAST_LOCK = threading.Lock()


def owners_of(inventory: Inventory) -> Owners:
    """The :class:`Owners` of ``inventory``, shared by every stage asking about the same one."""
    with _LAST_LOCK:
        for ref, owners in _LAST:
            if ref() is inventory:
                return owners
        owners = Owners(inventory)
        _LAST[:] = [(weakref.ref(inventory), owners)]
        return owners


def _by_path(gap: Gap) -> str:
    return gap.path or ""


class _Over:
    """A group past the limit: where it first came, its first gaps by path, how many more."""

    __slots__ = ("first", "kept", "more", "owner")

    def __init__(self, first: int, kept: List[Gap], owner: Optional[Distribution]) -> None:
        self.first = first
        self.kept = kept
        self.more = 0
        self.owner = owner

    def add(self, gap: Gap, limit: int) -> None:
        self.kept.append(gap)
        if len(self.kept) > 2 * limit:  # keep the first by path, whatever order gaps come in
            self.kept.sort(key=_by_path)
            self.more += len(self.kept) - limit
            del self.kept[limit:]


class GapBound:
    """Gaps as they come, at most ``limit`` per (area, reason, distribution or directory) kept
    (the first by path) and one more gap per group saying how many were left out.

    Until more than ``limit`` gaps with a path came, nothing is grouped (no group can be over
    the limit): a short list costs nothing and no owner map is built.

    Args:
        owners: who owns a path (:func:`owners_of`); without it gaps group by directory only.
        limit: gaps kept per group.
    """

    def __init__(self, owners: Optional[Owners] = None, limit: int = MAX_GAPS_PER_GROUP) -> None:
        self._owners = owners
        self._limit = limit
        self._lock = threading.Lock()
        self._seq = 0
        self._entries: List[Tuple[int, Optional[_Key], Gap]] = []
        """In arrival order; key ``None``: not grouped (no path, or not grouped yet)."""
        self._keyed = False
        self._with_path = 0
        self._groups: Dict[_Key, List[Tuple[int, Gap]]] = {}
        self._over: Dict[_Key, _Over] = {}
        self._stale = 0
        """Entries of groups that went over the limit since (left out at the end)."""

    def add(self, gap: Gap) -> None:
        """Take one more gap."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            if gap.path is None:
                self._entries.append((seq, None, gap))
                return
            self._with_path += 1
            if not self._keyed and self._with_path <= self._limit:
                self._entries.append((seq, None, gap))
                return
            if not self._keyed:  # the limit passed: group the gaps held so far
                self._keyed = True
                held, self._entries = self._entries, []
                for old_seq, _, old in held:
                    self._place(old_seq, old)
            self._place(seq, gap)

    def extend(self, gaps: Iterable[Gap]) -> None:
        """Take every gap of ``gaps``."""
        for gap in gaps:
            self.add(gap)

    def _key(self, gap: Gap) -> Tuple[_Key, Optional[Distribution]]:
        path = gap.path or ""
        owner = self._owners.of(path) if self._owners is not None else None
        if owner is not None:
            return (gap.area, gap.reason.value, owner.path), owner
        cut = path.rfind("/")
        where = path[:cut] if cut > 0 else posixpath.dirname(path)
        return (gap.area, gap.reason.value, where), owner

    def _place(self, seq: int, gap: Gap) -> None:
        if gap.path is None or (
            gap.detail[:1].isdigit() and _SUMMARY.match(gap.detail)
        ):  # a count already: kept as it is
            self._entries.append((seq, None, gap))
            return
        key, owner = self._key(gap)
        over = self._over.get(key)
        if over is not None:
            over.add(gap, self._limit)
            return
        group = self._groups.setdefault(key, [])
        group.append((seq, gap))
        self._entries.append((seq, key, gap))
        if len(group) <= self._limit:
            return
        del self._groups[key]  # over the limit: held apart, its entries left out at the end
        self._over[key] = over = _Over(group[0][0], [], owner)
        for _, held in group:
            over.add(held, self._limit)
        self._stale += len(group)
        if self._stale > len(self._entries) // 2:  # drop them now and then: memory stays bounded
            self._entries = [e for e in self._entries if e[1] is None or e[1] not in self._over]
            self._stale = 0

    def gaps(self) -> Tuple[Gap, ...]:
        """The gaps kept, in the order they came (a group over the limit where its first gap
        came: its first gaps by path, then the one gap counting the rest)."""
        with self._lock:
            if not self._over:
                return tuple(gap for _, _, gap in self._entries)
            items: List[Tuple[int, int, Gap]] = [
                (seq, 0, gap)
                for seq, key, gap in self._entries
                if key is None or key not in self._over
            ]
            for key, over in self._over.items():
                over.kept.sort(key=_by_path)
                shown = over.kept[: self._limit]
                rest = over.more + len(over.kept) - len(shown)
                items.extend((over.first, i, gap) for i, gap in enumerate(shown))
                items.append((over.first, len(shown), _summary(key, over, shown, rest)))
            items.sort(key=lambda item: (item[0], item[1]))
            return tuple(gap for _, _, gap in items)


def _summary(key: _Key, over: _Over, shown: List[Gap], rest: int) -> Gap:
    """The one gap standing for the ``rest`` of a group."""
    area, _, where = key
    first = shown[0]
    if over.owner is not None:
        what = f"files listed in the RECORD of {over.owner.name} {over.owner.version}"
    else:
        what = f"paths in {where}"
    detail = (
        f"{rest} more {what} had this gap ({first.reason.value}, {area}) and are not listed, "
        f"as the {len(shown)} listed before are; the first: {first.detail}"
    )
    return Gap(area, HostPath(where), first.reason, detail)


def bounded_gaps(gaps: Iterable[Gap], inventory: Optional[Inventory] = None) -> Tuple[Gap, ...]:
    """``gaps`` bounded by :class:`GapBound` (the distributions of ``inventory`` own paths)."""
    bound = GapBound(owners_of(inventory) if inventory is not None else None)
    bound.extend(gaps)
    return bound.gaps()
