"""Which files a bundle keeps the content of, and which only the facts of (the evidence policy).

Content is kept where it matters to a responder: indicator files, every ``.pth`` and startup hook,
persistence files, files that fail their RECORD or are not listed in it, the files of affected
releases, YARA hits, cached archives of affected releases. For everything else that is matched
(chiefly the RECORD files of a *clean* release of a targeted package, present in many
environments on the most common host of an incident) the bundle keeps the facts: path, size and
SHA-256 (those the scan learnt reading the file, or hashing it in RECORD verification: never a
RECORD row's claim alone, so an absent file a forged RECORD lists gets no entry). ``analyze`` with
tomorrow's packs still matches hashes and names against those facts; what it cannot redo (YARA on
content not kept) it says as a gap. ``--evidence full`` keeps every candidate's content.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from sitesweep.candidates import record_paths, yara_candidates
from sitesweep.facts import hashed_files
from sitesweep.inventory import Inventory
from sitesweep.metadata.model import Distribution, HostFile
from sitesweep.model import Finding, HostPath
from sitesweep.packs.model import PackSet

POLICY = "policy"
"""Content where it matters, facts elsewhere (the default)."""
FULL = "full"
"""Content of every candidate (``--evidence full``)."""
MODES = (POLICY, FULL)


class Planned(NamedTuple):
    """One candidate file and what the bundle keeps of it.

    Attributes:
        path: host path.
        known: what the inventory knows of it (hash, size, times), if anything.
        why: why its content is kept, or ``None`` when only its facts are (a facts-only
            candidate whose hash nothing gave: the writer hashes it).
    """

    path: HostPath
    known: Optional[HostFile]
    why: Optional[str]


def affected_distributions(inventory: Inventory, packs: PackSet) -> List[Distribution]:
    """Installed distributions a pack lists as affected in their installed version (or whose
    version cannot be read: a malformed version on a targeted name is itself a clue)."""
    found = []
    for dist in inventory.distributions:
        for pack in packs.packs:
            if any(
                a.name == dist.name and a.matches(dist.version) is not False for a in pack.affected
            ):
                found.append(dist)
                break
    return found


Fact = Tuple[HostPath, str, Optional[int]]
"""A facts-only candidate: (host path, SHA-256 hex, size)."""


class EvidencePlan(NamedTuple):
    """What the bundle keeps of every YARA candidate.

    Attributes:
        kept: the candidates whose content is kept (``why`` set), and those kept as facts whose
            hash nothing gave (``why`` and ``known`` ``None``: the writer hashes them, or
            keeps their content when they cannot be hashed), sorted by path.
        facts: the facts-only candidates whose hash is known (from a verified RECORD row, the
            cache listing or the scan's own read of them), in no particular order.
    """

    kept: List[Planned]
    facts: List[Fact]


def plan(
    inventory: Inventory,
    packs: PackSet,
    findings: Tuple[Finding, ...],
    mode: str = POLICY,
    read: Optional[Mapping[str, Tuple[bytes, int]]] = None,
) -> EvidencePlan:
    """Every YARA candidate with what the bundle keeps of it.

    ``read``: SHA-256 digests and sizes of whole files the scan read (the YARA pass), by host
    path: the facts of a facts-only candidate (a RECORD row's hash is a claim: a row the
    verification did not reach may name an absent file). A facts-only candidate not read is
    left to the writer: hashed there when it is a regular file (its digest reused when RECORD
    verification hashed it), left out when it is absent.
    """
    known = _known(inventory)
    content = _content_reasons(inventory, packs, findings)
    hashed: Dict[str, Fact] = {  # the inventory hashed them
        a.path: (a.path, a.sha256, a.size) for a in inventory.cached_artifacts if a.sha256
    }
    read = read or {}
    kept: List[Planned] = []
    facts: List[Fact] = []
    full = mode == FULL
    for path in yara_candidates(inventory, packs):
        why = content.get(path)
        if why is None:
            if full:
                why = "full evidence"
            else:
                fact = hashed.get(path)
                if fact is None and path in read:  # seen: read (or its unchanged hashed self)
                    digest, size = read[path]
                    fact = (path, digest.hex(), size)
                if fact is not None:
                    facts.append(fact)
                else:
                    kept.append(Planned(path, known.get(path), None))
                continue
        kept.append(Planned(path, known.get(path), why))
    return EvidencePlan(kept, facts)


def _known(inventory: Inventory) -> Dict[str, HostFile]:
    """What the inventory hashed, by host path."""
    files = [
        *hashed_files(inventory),
        *(
            HostFile(e.path, e.size, e.sha256, e.mtime, e.mode, e.uid)
            for e in inventory.persistence
            if e.sha256
        ),
    ]
    return {f.path: f for f in files}


def _content_reasons(
    inventory: Inventory, packs: PackSet, findings: Tuple[Finding, ...]
) -> Dict[str, str]:
    """Host path -> why its content is kept, for the files whose content matters."""
    why: Dict[str, str] = {}

    def keep(paths: Iterator[str], reason: str) -> None:
        for path in paths:
            why.setdefault(path, reason)

    keep((f.path for f in inventory.files), "file of interest")
    keep((p.file.path for p in inventory.pth_files), ".pth file")
    keep((h.file.path for h in inventory.startup_hooks), "startup hook")
    keep((e.path for e in inventory.persistence), "persistence")
    for check in inventory.record_checks:
        keep((m.file.path for m in check.modified), "fails its RECORD")
        keep((f.path for f in check.unlisted), "not in any RECORD")
    for dist in affected_distributions(inventory, packs):
        keep(record_paths(dist, inventory), f"file of affected release {dist.name} {dist.version}")
    hits: FrozenSet[str] = frozenset(
        p for f in findings if "/yara/" in f.rule or f.pack for p in f.paths
    )
    keep(iter(hits), "named by a finding")
    for artifact in inventory.cached_artifacts:
        if any(
            a.name == artifact.name and a.matches(artifact.version or "") is not False
            for pack in packs.packs
            for a in pack.affected
        ):
            keep(iter((artifact.path,)), "cached archive of an affected release")
    return why
