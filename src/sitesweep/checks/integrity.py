"""RECORD integrity: installed files that changed, appeared or vanished after installation."""

from __future__ import annotations

from typing import FrozenSet, Iterator, List, Optional, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.metadata.integrity import MAX_MISSING_LISTED, RecordVerification
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity
from sitesweep.packs.model import Pack, PackSet

CODE_SUFFIXES = (".py", ".pth", ".so", ".pyd")
"""Files Python runs or loads: one changed after install is high even without a signature."""


def is_code(path: str) -> bool:
    """Return whether Python runs or loads this file: source, ``.pth``, extension modules, and
    sourceless bytecode outside ``__pycache__`` (importable as is). Bytecode in ``__pycache__``
    is left out: Python rewrites it whenever the source's timestamp changes."""
    if path.endswith(".pyc"):
        return "/__pycache__/" not in path
    return path.endswith(CODE_SUFFIXES)


MAX_EVIDENCE = 50
"""Evidence lines per finding; the rest are counted."""

_REMEDIATION = (
    "Files of this distribution differ from what its installer recorded: something changed them "
    "after installation. Keep the evidence copies, compare them with the published release, and "
    "reinstall the distribution from a verified source (or rebuild the environment)."
)


def _top_package(site_path: str) -> Optional[str]:
    head, sep, _ = site_path.partition("/")
    return head if sep and head else None


def record_targets(packs: PackSet) -> FrozenSet[str]:
    """Names RECORD verification always covers: affected distribution names (canonical) and the
    top-level packages of the packs' site-packages file indicators (``litellm`` of
    ``litellm/proxy/proxy_server.py``)."""
    names = {release.name for pack in packs.packs for release in pack.affected}
    tops = {
        top
        for pack in packs.packs
        for ind in pack.files
        if ind.site_path and (top := _top_package(ind.site_path))
    }
    return frozenset(names | tops)


def targeting_packs(check: RecordVerification, packs: PackSet) -> Tuple[Pack, ...]:
    """Return the packs that name this distribution (by name or by one of its packages)."""
    tops = set(check.top_levels)
    found: List[Pack] = []
    for pack in packs.packs:
        names = {release.name for release in pack.affected}
        pack_tops = {_top_package(ind.site_path) for ind in pack.files if ind.site_path}
        if check.name in names or tops & pack_tops:
            found.append(pack)
    return tuple(found)


def _capped(items: List[Evidence], unlisted: int = 0) -> Tuple[Evidence, ...]:
    """The first :data:`MAX_EVIDENCE` items and one counting the rest (``unlisted`` more were
    left out of ``items`` already)."""
    if len(items) <= MAX_EVIDENCE and not unlisted:
        return tuple(items)
    more = len(items) - len(items[:MAX_EVIDENCE]) + unlisted
    extra = Evidence("more", f"{more} further file(s) not listed here")
    return (*items[:MAX_EVIDENCE], extra)


def _changed_evidence(check: RecordVerification) -> List[Evidence]:
    items = [
        Evidence(
            "modified",
            f"{m.file.path}: RECORD {m.expected_hash} size {m.expected_size}, "
            f"on disk {m.actual_hash} size {m.file.size}",
        )
        for m in check.modified
    ]
    items += [
        Evidence(
            "unlisted",
            f"{f.path}: sha256 {f.sha256 or 'unreadable'} size {f.size}"
            + (f" ({why})" if (why := mechanic(f.path)) else ""),
        )
        for f in check.unlisted
    ]
    return items


_MECHANICS = (
    ((".pth",), "a startup hook: runs at every interpreter start"),
    (("sitecustomize.py", "usercustomize.py"), "a startup hook: runs at every interpreter start"),
    (("__init__.py",), "runs whenever the package is imported"),
    ((".so", ".pyd", ".dylib", ".dll"), "native code"),
    ((".js", ".mjs", ".cjs"), "JavaScript carried by a Python release"),
    ((".exe", "/bun", "/node", "/deno"), "a program carried by a Python release"),
    ((".py", ".pyc"), "Python code the package may import"),
)


def mechanic(path: str) -> str:
    """What a file planted after install is for, by its name (empty when nothing is known)."""
    lower = path.lower()
    for suffixes, what in _MECHANICS:
        if lower.endswith(suffixes):
            return what
    return ""


def _counts(check: RecordVerification) -> Tuple[Evidence, ...]:
    return (
        Evidence("files verified", str(check.verified)),
        Evidence("rows without hash", str(check.unhashed)),
        Evidence("rows skipped", str(len(check.skipped))),
    )


class RecordMismatch(Check):
    """Installed files differ from the distribution's RECORD (modified, unlisted or missing).

    Modified or unlisted code (``.py``, ``.pth``, ``.so``) is high with no signature at all: the
    next incident will not be in a pack, and a payload planted after install shows up here. Other
    modified files are medium, missing files low, and any mismatch in a distribution a pack names
    is high. A clean result means "unchanged since install", not "benign": the litellm attacker
    rebuilt the wheel with a matching RECORD (research notes, section 1.4).
    """

    id = "integrity/record-mismatch"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield up to two findings per verified distribution: changed files, missing files."""
        for check in ctx.inventory.record_checks:
            packs = targeting_packs(check, ctx.packs)
            if check.modified or check.unlisted:
                yield self._changed(ctx, check, packs)
            if check.missing:
                yield self._missing(ctx, check, packs)

    def _finding(
        self,
        ctx: CheckContext,
        check: RecordVerification,
        packs: Tuple[Pack, ...],
        slug: str,
        severity: Severity,
        title: str,
        paths: Tuple[HostPath, ...],
        evidence: List[Evidence],
        unlisted: int = 0,
    ) -> Finding:
        pack = packs[0] if packs else None
        rule = f"{pack.id}/integrity/{check.name}" if pack else f"heuristic/{slug}"
        if pack:
            evidence.append(Evidence("named by pack", ", ".join(p.id for p in packs)))
        return Finding(
            rule=rule,
            severity=severity,
            category=Category.INTEGRITY,
            title=title,
            paths=(check.distribution, *paths),
            environment=ctx.env_prefix(check.distribution),
            distribution=check.name,
            version=check.version,
            evidence=(*_capped(evidence, unlisted), *_counts(check)),
            remediation=pack.remediation if pack else _REMEDIATION,
            pack=pack.id if pack else None,
        )

    def _changed(
        self, ctx: CheckContext, check: RecordVerification, packs: Tuple[Pack, ...]
    ) -> Finding:
        paths = tuple(
            sorted({m.file.path for m in check.modified} | {f.path for f in check.unlisted})
        )
        code = any(is_code(p) for p in paths)
        severity = Severity.HIGH if code or packs else Severity.MEDIUM
        counts = [f"{len(check.modified)} modified"] if check.modified else []
        counts += [f"{len(check.unlisted)} unlisted"] if check.unlisted else []
        what = ", ".join(counts) + (", code among them" if code else "")
        title = f"{check.name} {check.version}: files were modified after install ({what})"
        if packs:
            title += f"; the distribution is named by {packs[0].id}"
        return self._finding(
            ctx, check, packs, "record-modified", severity, title, paths, _changed_evidence(check)
        )

    def _missing(
        self, ctx: CheckContext, check: RecordVerification, packs: Tuple[Pack, ...]
    ) -> Finding:
        severity = Severity.HIGH if packs else Severity.LOW
        title = f"{check.name} {check.version}: {check.missing_count} file(s) in RECORD are missing"
        listed = check.missing[:MAX_MISSING_LISTED]  # sorted: the first by path, the rest counted
        evidence = [Evidence("missing", path) for path in listed]
        unlisted = check.missing_count - len(listed)
        return self._finding(
            ctx, check, packs, "record-missing", severity, title, listed, evidence, unlisted
        )
