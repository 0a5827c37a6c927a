"""The walk on two cores: the tree shared between this process and one forked worker.

Listing a directory is Python and system calls that hold the GIL between entries, so threads
cannot share the walk; a process (:mod:`sitesweep.apart`) can. Where it may fork,
:func:`walk_in_two` lists the top of the tree breadth-first until :data:`UNITS` directories wait
to be listed, each a *unit* (it and everything below it). Their numbers go into a pipe before
the fork; this process and the worker each take the next number (a read of 4 bytes from the
pipe takes exactly one, whole) and walk that unit into a :class:`WalkResult` of its own, until
the pipe is empty: whoever is free takes the next unit, so both end within about one unit of
each other however the environments are spread. The worker sends its units' results back.

The results are put together in the order the walk of one process visits them: that walk is
depth-first, each unit's subtree is one block of it, and each directory listed at the top adds
its own notes before its subdirectories' ones. So the result is the sequential walk's exactly:
the same lists in the same order, the same counts, gaps, listings and links. A worker that fails
leaves its units to this process: the same result, only later.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Tuple

from sitesweep import apart
from sitesweep.discovery.walk import TOP, Entry, WalkResult, _Walker
from sitesweep.door.base import PackageListing
from sitesweep.progress import NullProgress

__all__ = ["UNITS", "walk_in_two"]

UNITS = 512
"""Units the tree is cut into: enough that the last ones to be taken are small (a few hundred
directories on a host of 100,000), few enough that the cutting costs nothing (one pipe read and
one small result each)."""

_TOKEN = 4
"""Bytes of a token in the pipe: the number of the first unit it gives (little-endian)."""

_TOKENS = 1024
"""Tokens at most, so that writing them all into the pipe never blocks (a pipe holds 4 KiB at
the least); when the top of a tree gives more units (a directory with thousands of
subdirectories), a token gives a run of consecutive units."""


@dataclass
class _Node:
    """A directory of the cut: listed at the top (``notes``, ``children``) or a unit (``unit``)."""

    entry: Entry
    notes: WalkResult = field(default_factory=WalkResult)
    children: List[int] = field(default_factory=list)
    unit: int = -1


def walk_in_two(walker: _Walker, units: int = UNITS, share: bool = True) -> WalkResult:
    """Walk the tree as ``walker.run()`` does, the units shared with a forked worker.

    ``share`` False leaves every unit to the worker (tests: its results must merge exactly).
    """
    nodes, cut = _cut(walker, units)
    done: Dict[int, WalkResult] = {}
    if cut:
        done = _share(walker, cut, share)
    return walker.finish(_merge(nodes, done))


def _cut(walker: _Walker, units: int) -> Tuple[List[_Node], List[Entry]]:
    """List the top of the tree breadth-first, each directory's notes apart, until ``units``
    directories wait; return every node and the waiting ones' entries (numbered as units)."""
    nodes = [_Node(TOP)]
    waiting: Deque[int] = deque([0])
    while waiting and len(waiting) < units:
        node = nodes[waiting.popleft()]
        walker.result = node.notes
        stack: List[Entry] = []
        walker.visit(node.entry, stack)
        for entry in stack:
            node.children.append(len(nodes))
            waiting.append(len(nodes))
            nodes.append(_Node(entry))
    cut = []
    for number, index in enumerate(waiting):  # the shallower (larger) first: taken first
        nodes[index].unit = number
        cut.append(nodes[index].entry)
    walker.result = WalkResult(dirs=len(nodes) - len(waiting))  # progress counts on from here
    return nodes, cut


def _share(walker: _Walker, cut: List[Entry], share: bool) -> Dict[int, WalkResult]:
    """Walk the units here and in the worker; return every unit's result by its number."""
    parent = os.getpid()
    reader, writer = os.pipe()
    try:
        run = -(-len(cut) // _TOKENS)
        try:
            tokens = range(0, len(cut), run)
            os.write(writer, b"".join(n.to_bytes(_TOKEN, "little") for n in tokens))
        finally:
            os.close(writer)

        def work() -> Dict[int, WalkResult]:
            if os.getpid() != parent:  # the worker: progress is this process's to tell
                walker.progress = NullProgress()
            return _take(walker, cut, run, reader)

        worker = apart.start(work, walker.root, walker.progress)
        try:
            done = _take(walker, cut, run, reader) if share else {}
            try:
                theirs = worker.result()
            except apart.ApartError:
                theirs = {}  # its units are walked here below
        finally:
            worker.cancel()
    finally:
        os.close(reader)
    _share_listings(walker.listings, theirs)
    done.update(theirs)
    for number, entry in enumerate(cut):
        if number not in done:
            done[number] = _unit(walker, entry)
    return done


def _take(walker: _Walker, cut: List[Entry], run: int, reader: int) -> Dict[int, WalkResult]:
    """Walk the units of the next token from the pipe (``run`` units from the one it names)
    until the pipe is empty; return their results by number."""
    done: Dict[int, WalkResult] = {}
    while True:
        token = os.read(reader, _TOKEN)
        if len(token) < _TOKEN:
            return done
        first = int.from_bytes(token, "little")
        for number in range(first, min(first + run, len(cut))):
            done[number] = _unit(walker, cut[number])


def _unit(walker: _Walker, entry: Entry) -> WalkResult:
    """Walk one unit into a result of its own (progress counts on across units)."""
    counted = walker.result.dirs
    walker.result = result = WalkResult(dirs=counted)
    walker.descend([entry])
    result.dirs -= counted
    walker.result = WalkResult(dirs=counted + result.dirs)
    return result


def _share_listings(
    listings: Dict[PackageListing, PackageListing], results: Dict[int, WalkResult]
) -> None:
    """Make the worker's listings equal to one of this process's the same object (the walk
    keeps equal listings once: the same release in many environments)."""
    for result in results.values():
        kept = result.package_listings
        for path, listing in kept.items():
            kept[path] = listings.setdefault(listing, listing)


def _merge(nodes: List[_Node], done: Dict[int, WalkResult]) -> WalkResult:
    """Put the top directories' notes and the units' results together in the sequential walk's
    order: depth-first, the last subdirectory pushed first, a unit's subtree as one block."""
    merged = WalkResult()
    stack = [0]
    while stack:
        node = nodes[stack.pop()]
        if node.unit >= 0:
            _add(merged, done[node.unit])
        else:
            _add(merged, node.notes)
            stack.extend(node.children)
    return merged


def _add(merged: WalkResult, part: WalkResult) -> None:
    """Append one part of the walk, in order, to the whole."""
    merged.site_dirs += part.site_dirs
    merged.venv_prefixes += part.venv_prefixes
    merged.conda_prefixes += part.conda_prefixes
    merged.named_files += part.named_files
    merged.gaps += part.gaps
    merged.dirs += part.dirs
    merged.files += part.files
    merged.lockfiles += part.lockfiles
    for pattern, count in part.pruned.items():
        merged.pruned[pattern] = merged.pruned.get(pattern, 0) + count
    merged.linked_sites.update(part.linked_sites)
    merged.config_files += part.config_files
    merged.package_listings.update(part.package_listings)
