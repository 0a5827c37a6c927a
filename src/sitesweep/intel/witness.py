"""Ask an index about every installed release of a bundle: published, yanked, gone, same bytes?

The answers are observations made on the analyst's machine (:class:`IndexWitness`); the
``index/witness`` check turns them into findings. Each project page is asked once, and each
wheel RECORD only for releases whose installed RECORD rows the bundle holds.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from packaging.utils import canonicalize_name

from sitesweep.intel.index import IndexSource, IndexUnavailable, ProjectPage, ReleaseFile
from sitesweep.intel.model import FileMismatch, IndexWitness, ReleaseState, ReleaseWitness
from sitesweep.metadata.model import Distribution, RecordEntry
from sitesweep.model import Gap, GapReason

AREA = "index/witness"
MAX_WHEELS = 8
"""Wheels of one release whose RECORD is fetched to find the one installed; more is a gap."""
_NOT_FROM_WHEEL = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
"""Files an installer writes into ``.dist-info``: never in a published wheel's RECORD."""


def ask_index(
    distributions: Sequence[Distribution], source: IndexSource, workers: int = 4
) -> IndexWitness:
    """Ask ``source`` about every distribution installed from an index.

    Editable installs and direct URL installs are not asked (they never came from an index).
    """
    gaps: List[Gap] = []
    asked = [d for d in distributions if d.format == "dist-info" and not _direct(d)]
    skipped = len(distributions) - len(asked)
    if skipped:
        detail = f"{skipped} distributions not asked (egg-info, editable or direct URL installs)"
        gaps.append(Gap(AREA, None, GapReason.CHECK_SKIPPED, detail))
    names = sorted({canonicalize_name(d.name) for d in asked})
    pages: Dict[str, ProjectPage] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for name, page in zip(names, pool.map(lambda n: _page(source, n), names)):
            if isinstance(page, ProjectPage):
                pages[name] = page
            else:
                gaps.append(Gap(AREA, None, GapReason.OS_ERROR, f"{name}: {page}"))
        jobs = [
            (d, pages[canonicalize_name(d.name)])
            for d in asked
            if canonicalize_name(d.name) in pages
        ]
        results = list(pool.map(lambda job: _witness(source, *job), jobs))
    releases = [r for r, _ in results]
    gaps += [g for _, found in results for g in found]
    unhashed = sum(1 for r, (d, _) in zip(releases, jobs) if not d.record and r.state != "gone")
    if unhashed:
        detail = (
            f"{unhashed} releases whose installed RECORD rows the bundle does not hold: their "
            "files were not compared with the published wheels (collect with --verify-record)"
        )
        gaps.append(Gap(AREA, None, GapReason.CHECK_SKIPPED, detail))
    return IndexWitness(source.label, tuple(releases), source.exchanges, tuple(gaps))


def _direct(dist: Distribution) -> bool:
    return dist.editable or bool(dist.direct_url)


def _page(source: IndexSource, name: str) -> object:
    try:
        return source.project(name)
    except IndexUnavailable as exc:
        return str(exc)


def _witness(
    source: IndexSource, dist: Distribution, page: ProjectPage
) -> Tuple[ReleaseWitness, Tuple[Gap, ...]]:
    base = ReleaseWitness(dist.path, dist.name, dist.version, ReleaseState.PROJECT_MISSING)
    if not page.found:
        return base, ()
    others = page.other_versions(dist.version)
    files = page.files_of(dist.version)
    if not page.has_version(dist.version) and not files:
        return ReleaseWitness(
            dist.path, dist.name, dist.version, ReleaseState.GONE, None, others
        ), ()
    state, reason = ReleaseState.PUBLISHED, None
    if files and all(f.yanked for f in files):
        state = ReleaseState.YANKED
        reason = next((f.yanked_reason for f in files if f.yanked_reason), None)
    wheel, compared, differing, gaps = _compare(source, dist, files)
    witness = ReleaseWitness(
        dist.path, dist.name, dist.version, state, reason, others, wheel, compared, differing
    )
    return witness, gaps


def _compare(
    source: IndexSource, dist: Distribution, files: Iterable[ReleaseFile]
) -> Tuple[Optional[str], int, Tuple[FileMismatch, ...], Tuple[Gap, ...]]:
    """Compare the installed RECORD with the best-matching published wheel's RECORD."""
    installed = _rows(dist.record)
    wheels = sorted((f for f in files if f.is_wheel), key=lambda f: "-none-any" not in f.filename)
    if not installed or not wheels:
        return None, 0, (), ()
    gaps: List[Gap] = []
    if len(wheels) > MAX_WHEELS:
        detail = f"{len(wheels)} wheels published; the first {MAX_WHEELS} compared"
        gaps.append(Gap(AREA, dist.path, GapReason.CHECK_SKIPPED, detail))
    best: Optional[Tuple[int, str, int, Tuple[FileMismatch, ...]]] = None
    for wheel in wheels[:MAX_WHEELS]:
        try:
            published = _rows_of_text(source.wheel_record(wheel))
        except IndexUnavailable as exc:
            gaps.append(Gap(AREA, dist.path, GapReason.OS_ERROR, str(exc)))
            continue
        common = [p for p in installed if p in published]
        if not common:
            continue
        differing = tuple(
            FileMismatch(p, installed[p], published[p])
            for p in common
            if installed[p] != published[p]
        )
        score = len(common) - len(differing)
        if best is None or score > best[0]:
            best = (score, wheel.filename, len(common), differing)
    if best is None:
        return None, 0, (), tuple(gaps)
    return best[1], best[2], best[3], tuple(gaps)


def _rows(record: Iterable[RecordEntry]) -> Dict[str, str]:
    return {e.path: e.hash for e in record if _comparable(e.path, e.hash)}


def _rows_of_text(text: str) -> Dict[str, str]:
    rows: Dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and _comparable(row[0], row[1]):
            rows[row[0]] = row[1]
    return rows


def _comparable(path: str, hash_spec: str) -> bool:
    """Rows both sides have for the same reason: hashed, inside the site dir, not written by
    the installer (scripts, RECORD, INSTALLER), not bytecode."""
    if not hash_spec or path.startswith(("../", "/")) or "__pycache__/" in path:
        return False
    head, _, tail = path.rpartition("/")
    return not (head.endswith(".dist-info") and tail in _NOT_FROM_WHEEL)
