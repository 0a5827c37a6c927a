"""Indicator files by name, by site-relative path and by hash."""

from __future__ import annotations

from typing import Dict, Iterator, List, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.facts import hashed_files, recorded_hashes
from sitesweep.metadata.model import HostFile
from sitesweep.model import Category, Evidence, Finding, Severity
from sitesweep.packs.model import FileIndicator, Pack


def _finding(
    ctx: CheckContext, pack: Pack, ind: FileIndicator, file: HostFile, how: str
) -> Finding:
    evidence = (
        Evidence("sha256", file.sha256 or "unreadable"),
        Evidence("matched by", how),
        Evidence("indicator", ind.description),
    )
    name = file.path.rsplit("/", 1)[-1]
    return Finding(
        rule=f"{pack.id}/file/{ind.id}",
        severity=ind.severity,
        category=Category.FILE,
        title=f"indicator file {name} of {pack.id} ({how})",
        paths=(file.path,),
        environment=ctx.env_prefix(file.path),
        evidence=evidence,
        remediation=pack.remediation,
        pack=pack.id,
    )


class IndicatorFiles(Check):
    """A file the incident leaves behind is present (by name, path or hash).

    Runs whatever the installed version says: the litellm ``.pth`` outlives an uninstall or an
    upgrade of the package that dropped it. A file named like an indicator counts only when the
    pack says its name alone is an indicator; a file whose SHA-256 is a known malicious one counts
    wherever it is and whatever it is called.
    """

    id = "file/indicator-present"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (indicator, file) pair."""
        by_hash: Dict[str, List[Tuple[Pack, FileIndicator]]] = {}
        for pack in ctx.packs.packs:
            for ind in pack.files:
                for digest in ind.sha256:
                    by_hash.setdefault(digest, []).append((pack, ind))
        seen = set()
        for file in hashed_files(ctx.inventory):
            if file.path in seen:
                continue
            seen.add(file.path)
            for pack, ind in by_hash.get(file.sha256 or "", []):
                yield _finding(ctx, pack, ind, file, "known malicious SHA-256")
            yield from _named(ctx, file)
        for path, digest, size in recorded_hashes(ctx.inventory, digests=frozenset(by_hash)):
            if path in seen:
                continue
            for pack, ind in by_hash.get(digest, []):
                fact = HostFile(path, size or 0, digest, 0.0, 0, 0)
                yield _finding(ctx, pack, ind, fact, "SHA-256 its verified RECORD row states")


def _named(ctx: CheckContext, file: HostFile) -> Iterator[Finding]:
    """Findings for a file whose name or site path is an indicator by itself."""
    base = file.path.rsplit("/", 1)[-1]
    for pack in ctx.packs.packs:
        for ind in pack.files:
            if file.sha256 in ind.sha256 or not ind.name_is_indicator:
                continue
            if ind.name == base:
                yield _finding(ctx, pack, ind, file, "file name")
            elif ind.site_path and file.path.endswith("/" + ind.site_path):
                yield _finding(ctx, pack, ind, file, "path in site-packages")


class ArtifactHashes(Check):
    """A file on the host has the SHA-256 of a known malicious release artifact or dropped file."""

    id = "file/artifact-hash"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding for each hashed file equal to a pack artifact."""
        artifacts = {a.sha256: (pack, a) for pack in ctx.packs.packs for a in pack.artifacts}
        recorded = (
            HostFile(p, s or 0, d, 0.0, 0, 0)
            for p, d, s in recorded_hashes(ctx.inventory, digests=frozenset(artifacts))
        )
        for file in (*hashed_files(ctx.inventory), *recorded):
            hit = artifacts.get(file.sha256 or "")
            if hit is None:
                continue
            pack, art = hit
            yield Finding(
                rule=f"{pack.id}/artifact/{art.filename}",
                severity=Severity.CRITICAL,
                category=Category.FILE,
                title=f"file identical to {art.filename}: {art.description}",
                paths=(file.path,),
                environment=ctx.env_prefix(file.path),
                evidence=(Evidence("sha256", art.sha256),),
                remediation=pack.remediation,
                pack=pack.id,
            )
