"""Package caches holding an affected wheel or sdist."""

from __future__ import annotations

from typing import Dict, Iterator, List, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.metadata.caches import CachedArtifact
from sitesweep.model import Category, Evidence, Finding, Severity
from sitesweep.packs.model import ArtifactHash, Pack

_WHY = "a reinstall from this cache brings the affected release back, even offline"


def _evidence(art: CachedArtifact, how: str) -> Tuple[Evidence, ...]:
    items = [
        Evidence("matched by", how),
        Evidence("cache", f"{art.tool} ({art.kind})"),
        Evidence("sha256", art.sha256 or "not hashed"),
        Evidence("size", str(art.size)),
    ]
    items += [Evidence("member", m) for m in art.members]
    return tuple(items)


def _finding(pack: Pack, art: CachedArtifact, what: str, how: str) -> Finding:
    return Finding(
        rule=f"{pack.id}/cache/{art.name or 'artifact'}",
        severity=Severity.MEDIUM,
        category=Category.CACHE,
        title=f"{what} in {art.tool}'s cache: {_WHY}",
        paths=(art.path,),
        distribution=art.name,
        version=art.version,
        evidence=_evidence(art, how),
        remediation=pack.remediation,
        pack=pack.id,
    )


class CachedAffectedArtifact(Check):
    """A pip, uv, poetry or conda cache holds an affected release.

    Matched by the name and version the cache entry carries (its file name, or the
    ``*.dist-info/`` directory inside a wheel stored under a hashed name), or by the SHA-256 of a
    known malicious wheel or sdist. Medium: nothing runs from a cache, but the next install takes
    it from there without asking the index.
    """

    id = "cache/affected-artifact"
    default_severity = Severity.MEDIUM

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (cache entry, pack) that matches."""
        by_hash: Dict[str, List[Tuple[Pack, ArtifactHash]]] = {}
        for pack in ctx.packs.packs:
            for artifact in pack.artifacts:
                by_hash.setdefault(artifact.sha256, []).append((pack, artifact))
        for art in ctx.inventory.cached_artifacts:
            hashed = set()
            for pack, artifact in by_hash.get(art.sha256 or "", []):
                hashed.add(pack.id)
                yield _finding(pack, art, artifact.filename, f"SHA-256 of {artifact.filename}")
            if art.name is None or art.version is None:
                continue
            for pack in ctx.packs.packs:
                if pack.id in hashed:
                    continue
                for release in pack.affected:
                    if release.name == art.name and release.matches(art.version) is True:
                        what = f"{art.name} {art.version} ({art.kind})"
                        yield _finding(pack, art, what, "name and version")
                        break
