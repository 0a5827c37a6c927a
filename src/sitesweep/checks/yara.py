"""The packs' YARA rules matched against the content of the files that matter."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import replace
from typing import Dict, Iterator, Optional, Set, Tuple

from sitesweep import apart
from sitesweep.candidates import (
    CACHED_LIMIT,
    cached_candidates,
    pack_distribution_names,
    record_paths,
    yara_candidates,
)
from sitesweep.checks.base import Check, CheckContext
from sitesweep.content import ContentSource
from sitesweep.errors import HostReadError
from sitesweep.gapbound import GapBound, owners_of
from sitesweep.metadata.archives import ArchiveError, iter_zip_members, sniff
from sitesweep.metadata.model import Distribution
from sitesweep.model import Category, Evidence, Finding, Gap, GapReason, HostPath, Severity
from sitesweep.packs.yararules import (
    CompiledRules,
    YaraHit,
    YaraLimits,
    YaraScanError,
    YaraTimeoutError,
    unavailable_reason,
)
from sitesweep.parallel import DEFAULT_WORKERS, ordered_map

MAX_EVIDENCE_STRINGS = 50
"""String occurrences listed per finding; the rest are counted in one more evidence line."""


def _owners(ctx: CheckContext) -> Dict[str, Distribution]:
    """Map every file of a pack-named distribution to that distribution."""
    names = pack_distribution_names(ctx.packs)
    owners: Dict[str, Distribution] = {}
    for dist in ctx.inventory.distributions:
        if dist.name in names:
            owners.update((path, dist) for path in record_paths(dist, ctx.inventory))
    return owners


def _severity(hit: YaraHit) -> Severity:
    text = hit.meta_text("severity")
    try:
        return Severity(text) if text is not None else YaraRules.default_severity
    except ValueError:  # validated at pack load; a hand-built PackSet may still carry junk
        return YaraRules.default_severity


def _evidence(hit: YaraHit) -> Tuple[Evidence, ...]:
    items = [Evidence("yara rule", f"{hit.pack}:{hit.rule}")]
    for key in ("id", "reference"):
        value = hit.meta_text(key)
        if value is not None:
            items.append(Evidence(f"rule {key}", value))
    items += [
        Evidence("matched string", f"{s.identifier}@{s.offset}")
        for s in hit.strings[:MAX_EVIDENCE_STRINGS]
    ]
    more = len(hit.strings) - MAX_EVIDENCE_STRINGS + hit.truncated
    if more > 0:
        items.append(Evidence("matched strings not listed", str(more)))
    return tuple(items)


def _threads() -> int:
    """Threads matching files: the usable cores (at most four) less the forked workers still
    running beside this check (:func:`sitesweep.apart.running`), at least one.

    Most candidates cost a few microseconds of Python holding the GIL (an ``lstat``, a lookup),
    so a second thread on a core a worker process already holds only adds GIL hand-offs: on the
    realistic host (2 cores, the import-time collector working apart) one thread took the
    ``analyze`` phase from 1.90 to 1.63 s of CPU (0.86x, paired runs)."""
    return max(1, DEFAULT_WORKERS - apart.running())


class YaraRules(Check):
    """A pack's YARA rule matches a .pth, a startup hook, a file of interest or a package file.

    The files matched are those of :func:`sitesweep.candidates.yara_candidates`: every ``.pth``
    (a renamed ``litellm_init.pth`` escapes the name indicator, not the rule), the customize
    hooks, the files of interest, and every file of a distribution a pack names. Each match
    reports the rule, its pack, the file and the offsets of the matched strings; severity and
    title come from the rule's ``severity`` and ``description`` metadata.
    """

    id = "file/yara"
    runs_without = frozenset({"import_modules", "package_shapes"})
    default_severity = Severity.HIGH

    def __init__(self) -> None:
        self._facts_only = 0
        """Files not matched because a bundle kept their facts, not their content."""
        self._deadline = 0.0
        """When the scan's YARA time budget (``YaraLimits.total``) runs out (monotonic)."""
        self._spent: Set[str] = set()
        """Paths already given a budget gap (an archive's members share one)."""
        self._by_digest: Dict[bytes, Tuple[YaraHit, ...]] = {}
        """Matches by content digest: the same bytes in many environments are matched once."""
        self._pending: Dict[bytes, threading.Event] = {}
        """Digests being matched right now by another thread (files are matched in threads)."""
        self._lock = threading.Lock()
        self.reused = 0
        """Files whose bytes had been matched already in this run (same content elsewhere)."""
        self.unread = 0
        """Of those, files not even read: the scan had hashed that same, unchanged file (RECORD
        verification), and its digest had been matched."""
        self._ctx: Optional[CheckContext] = None
        self._owners: Optional[Dict[str, Distribution]] = None
        self._bound = GapBound()
        """Gaps of files read (not of facts-only ones), bounded as they come: a forged RECORD
        of 600,000 absent files made 1.8 M gaps (:mod:`sitesweep.gapbound`)."""

    def skip_reason(self, ctx: CheckContext) -> Optional[str]:
        """Say why no rule can be matched: no yara-python, no rules, or no file content."""
        if not any(pack.yara_files for pack in ctx.packs.packs):
            return None
        problem = unavailable_reason()
        if problem is not None:
            return f"{problem}: YARA rules of the packs were not matched"
        if ctx.packs.yara is None:
            return "the packs' YARA rules were not compiled (pack set not built by load_packs)"
        if ctx.content is None:
            return "no file content available (observations only): YARA rules were not matched"
        return None

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (rule, file) match; unreadable files become gaps."""
        self._facts_only = 0
        self._by_digest = {}
        self._pending = {}
        self.reused = 0
        self.unread = 0
        self._deadline = time.monotonic() + ctx.yara_limits.total
        self._spent = set()
        self._ctx, self._owners, self._bound = ctx, None, GapBound(owners_of(ctx.inventory))
        rules, content = ctx.packs.yara, ctx.content
        if rules is None or content is None:
            return
        archives = set(cached_candidates(ctx.inventory, ctx.packs))

        def matched(path: HostPath) -> Tuple[Tuple[YaraHit, Optional[str]], ...]:
            if path in archives:
                return tuple(self._match_archive(ctx, rules, content, path))
            return self._match(ctx, rules, content, path)

        paths = yara_candidates(ctx.inventory, ctx.packs)
        for path, hits in zip(paths, ordered_map(matched, paths, _threads())):
            for hit, member in hits:
                finding = self._finding(ctx, hit, path, self._owner_map().get(path))
                if member is not None:
                    finding = replace(
                        finding, evidence=(Evidence("archive member", member), *finding.evidence)
                    )
                yield finding

    def gaps(self) -> Tuple[Gap, ...]:
        """Files the last run could not match, and why (in file order); files whose content a
        bundle did not keep (evidence policy) are one gap with their count."""
        gaps = sorted(self._bound.gaps(), key=lambda gap: gap.path or "")
        if self._facts_only:
            detail = (
                f"{self._facts_only} files were kept as facts only (path, size, SHA-256) by the "
                "evidence policy: YARA was not redone on them (collect with --evidence full to "
                "keep their content)"
            )
            gaps.append(Gap(self.id, None, GapReason.HASHED_ONLY, detail))
        return tuple(gaps)

    def _owner_map(self) -> Dict[str, Distribution]:
        """Every file of a pack-named distribution -> that distribution (built when first
        needed: at the first match)."""
        with self._lock:
            if self._owners is None:
                self._owners = _owners(self._ctx) if self._ctx is not None else {}
            return self._owners

    def _gap(self, path: HostPath, reason: GapReason, detail: str) -> None:
        """Record that ``path`` was not matched (gaps of files read are bounded as they come,
        the facts-only ones counted in :meth:`gaps`)."""
        if reason is GapReason.HASHED_ONLY:
            with self._lock:
                self._facts_only += 1
        else:
            self._bound.add(Gap(self.id, path, reason, detail))

    def _match(
        self, ctx: CheckContext, rules: CompiledRules, content: ContentSource, path: HostPath
    ) -> Tuple[Tuple[YaraHit, Optional[str]], ...]:
        limits = ctx.yara_limits
        known = content.known(path)
        claimed: Optional[bytes] = None
        if known is not None and known[1] <= limits.max_size:
            waiting = None
            with self._lock:
                hits = self._by_digest.get(known[0])
                if hits is not None:  # counted here: one lock for the common case
                    self.reused += 1
                    self.unread += 1
                else:
                    waiting = self._pending.get(known[0])
                    if waiting is None:  # this thread reads and matches them
                        self._pending[known[0]] = threading.Event()
                        claimed = known[0]
            if waiting is not None:  # another thread is matching these bytes: wait for it
                waiting.wait()
                hits = self._by_digest.get(known[0])
                if hits is not None:
                    with self._lock:
                        self.reused += 1
                        self.unread += 1
            if hits is not None:  # these bytes were matched: this file is not read again
                content.note(path, *known)
                return tuple((hit, None) for hit in hits) if hits else ()
        try:
            try:
                data = content.read(path, limits.max_size)
            except HostReadError as exc:
                self._gap(path, exc.reason, exc.detail)
                return ()
            digest = hashlib.sha256(data).digest()
            content.note(path, digest, len(data))
            if digest == claimed:
                hits = self._match_bytes(rules, data, limits, path)
                if hits is not None:
                    self._by_digest[digest] = hits
            else:  # not claimed, or the file changed since it was hashed
                if claimed is not None:  # let the claim go first: never hold one while waiting
                    self._pending[claimed].set()
                hits = self._once(digest, rules, data, limits, path)
            return tuple((hit, None) for hit in hits or ())
        finally:
            if claimed is not None:
                self._pending[claimed].set()

    def _once(
        self, key: bytes, rules: CompiledRules, data: bytes, limits: YaraLimits, path: HostPath
    ) -> Optional[Tuple[YaraHit, ...]]:
        """Match ``data`` unless the same bytes were (or are being) matched: then wait for and
        reuse that result. ``None`` when matching failed (a gap for this path).

        A file whose digest the scan knew already claims that digest before it is read
        (:meth:`_match`), so its copies wait for its match instead of being read too."""
        with self._lock:
            hits = self._by_digest.get(key)
            waiting = self._pending.get(key) if hits is None else None
            if hits is None and waiting is None:
                self._pending[key] = threading.Event()
        if hits is None and waiting is not None:
            waiting.wait()
            hits = self._by_digest.get(key)
        if hits is not None:
            with self._lock:
                self.reused += 1
            return hits
        if waiting is not None:  # the first try failed: this path is matched on its own
            return self._match_bytes(rules, data, limits, path)
        try:
            hits = self._match_bytes(rules, data, limits, path)
            if hits is not None:
                self._by_digest[key] = hits
            return hits
        finally:
            self._pending[key].set()

    def _match_archive(
        self, ctx: CheckContext, rules: CompiledRules, content: ContentSource, path: HostPath
    ) -> Iterator[Tuple[YaraHit, Optional[str]]]:
        """Match every member of a cached wheel (a zip), in memory, never extracted."""
        limits = ctx.yara_limits
        try:
            data = content.read(path, CACHED_LIMIT)
            if sniff(data) not in ("zip", "zip-embedded"):  # sdists are matched as they are
                yield from (
                    (hit, None) for hit in self._match_bytes(rules, data, limits, path) or ()
                )
                return
            for name, member in iter_zip_members(data, limits.max_size):
                hits = self._match_bytes(rules, member, limits, path) or ()
                yield from ((hit, name) for hit in hits)
        except HostReadError as exc:
            self._gap(path, exc.reason, exc.detail)
        except ArchiveError as exc:
            self._gap(path, GapReason.PARSE_ERROR, str(exc))

    def _match_bytes(
        self, rules: CompiledRules, data: bytes, limits: YaraLimits, path: HostPath
    ) -> Optional[Tuple[YaraHit, ...]]:
        """The rules' hits in ``data``; ``None`` (and a gap) when matching failed."""
        left = self._deadline - time.monotonic()
        if left <= 0:  # the scan's total: without it N slow files cost N per-file timeouts
            if path not in self._spent:
                self._spent.add(path)
                detail = f"the scan's YARA time budget ({limits.total:g} s) is spent; not matched"
                self._gap(path, GapReason.BUDGET, detail)
            return None
        try:
            return rules.match(data, max(1, min(limits.timeout, math.ceil(left))))
        except YaraTimeoutError as exc:
            self._gap(path, GapReason.TIMEOUT, str(exc))
        except YaraScanError as exc:
            self._gap(path, GapReason.CHECK_FAILED, str(exc))
        return None

    def _finding(
        self, ctx: CheckContext, hit: YaraHit, path: HostPath, owner: Optional[Distribution]
    ) -> Finding:
        pack = ctx.packs.get(hit.pack)
        title = hit.meta_text("description") or f"YARA rule {hit.rule} of {hit.pack} matched"
        return Finding(
            rule=f"{hit.pack}/yara/{hit.rule}",
            severity=_severity(hit),
            category=Category.FILE,
            title=title,
            paths=(path,),
            environment=ctx.env_prefix(path),
            distribution=owner.name if owner else None,
            version=owner.version if owner else None,
            evidence=_evidence(hit),
            remediation=pack.remediation if pack else None,
            pack=hit.pack,
        )
