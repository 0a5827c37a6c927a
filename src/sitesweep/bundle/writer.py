"""Write a triage bundle: staging dir, evidence copies, JSON files, manifest last, ``.tar.gz``.

Nothing else in sitesweep writes files. The bundle is built in ``<name>.partial`` and renamed when
complete, so an interrupted run never leaves something that looks like a finished bundle.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tarfile
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from sitesweep.budget import charge_copy, hash_file, known_digest, read_digests
from sitesweep.bundle import evidence, layout
from sitesweep.bundle.custody import (
    NO_CUSTODY,
    Custody,
    command_line,
    custody_doc,
    live_host_doc,
    tool_doc,
)
from sitesweep.bundle.exportset import collection_facts, export_parts
from sitesweep.bundle.jsontext import encode
from sitesweep.bundle.report import render_text_report
from sitesweep.bundle.seal import seal_bundle
from sitesweep.bundle.serialize import (
    coverage_doc,
    dumps,
    environment_dict,
    findings_doc,
    inventory_chunks,
)
from sitesweep.content import HASHED_ONLY, HostContent
from sitesweep.errors import HostReadError, OutputError
from sitesweep.gapbound import GapBound, owners_of
from sitesweep.host.live_identity import LiveHost
from sitesweep.host.model import PersistenceKind
from sitesweep.hostfs import HostRoot
from sitesweep.metadata import PTH_LIMIT
from sitesweep.model import Gap, GapReason, Severity
from sitesweep.outcome import BundleRef, ScanResult
from sitesweep.outputs import open_new, refuse_bundle_dir
from sitesweep.redact import redact_config

_ABSENT: Tuple[str, Optional[int]] = ("", None)
"""What :meth:`_Writer._facts` gives for a path naming no file (compared by identity)."""

EVIDENCE_LIMIT = 64 << 20
"""Largest file copied as evidence; larger ones are listed with their hash only."""

ARCHIVE_COMPRESSLEVEL = 6
"""gzip level of the ``.tar.gz`` (zlib's default; on the large bench host 9 took 2.5x the time
for an archive 3 % smaller)."""

_WRITE_BATCH = 1 << 16
"""Bytes gathered from a streamed file's pieces before each write."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RunInfo:
    """Facts about the run that go into the manifest.

    Attributes:
        argv: the command line.
        started, finished: UTC times.
        mode: ``scan`` (observations and findings) or ``collect`` (observations only).
        reduced: (area, why) for checks that ran in reduced form (manifest ``reduced_checks``).
        custody: case id, examiner and note given by the responder.
        live_host: boot time and addresses (live scans only).
        encrypt_to: age public keys to encrypt the archive to (the plaintext is then removed).
        evidence: ``policy`` or ``full`` (see :mod:`sitesweep.bundle.evidence`).
    """

    argv: Tuple[str, ...]
    started: datetime
    finished: datetime
    mode: str = "scan"
    reduced: Tuple[Tuple[str, str], ...] = ()
    custody: Custody = NO_CUSTODY
    live_host: Optional[LiveHost] = None
    encrypt_to: Tuple[str, ...] = ()
    threshold: Severity = Severity.HIGH
    evidence: str = "policy"
    """The evidence policy: ``policy`` (content where it matters) or ``full``."""


@dataclass(frozen=True)
class BundlePaths:
    """Where the bundle went (``encrypted``: ``archive`` is the ``.age`` file, the rest is gone).

    ``archive_sha256`` is the SHA-256 of ``archive`` as written (what a responder records).
    """

    directory: Path
    archive: Path
    encrypted: bool = False
    archive_sha256: Optional[str] = None

    def ref(self) -> BundleRef:
        """The outputs' view of it."""
        return BundleRef(
            str(self.directory), str(self.archive), self.archive_sha256, self.encrypted
        )


def bundle_name(hostname: str, started: datetime) -> str:
    """``sitesweep-<host>-<UTC time>``, safe as a file name."""
    host = _SAFE.sub("_", hostname).strip("._") or "host"
    return f"sitesweep-{host[:64]}-{started.strftime('%Y%m%dT%H%M%SZ')}"


def _unused_name(output: Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3``... so an earlier bundle is never overwritten."""
    candidate, n = name, 1
    suffixes = ("", ".tar.gz", ".partial", ".tar.gz.age")
    while any(os.path.lexists(output / f"{candidate}{s}") for s in suffixes):  # links too
        n += 1
        candidate = f"{name}-{n}"
    return candidate


FACTS_REASON = "facts only (evidence policy): content not needed to judge it"


def config_paths(result: ScanResult) -> Set[str]:
    """Evidence copies that are config files (units, crontabs, profiles, index configs...).

    Their copies are masked by :func:`sitesweep.redact.redact_config`; the index keeps the
    original's hash (``sha256``) beside the copy's (``copied_sha256``). Pack-named indicator files
    (a payload's own files) are copied as they are. A distribution's ``direct_url.json`` is a
    config file too: it holds the URL it was installed from, credentials included
    (``https://user:token@...``), and an affected release's metadata is copied whole.
    """
    inv = result.inventory
    found: Set[str] = {e.path for e in inv.persistence if e.kind is not PersistenceKind.INDICATOR}
    found.update(f"{d.path}/direct_url.json" for d in inv.distributions)
    return found


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


class _Writer:
    def __init__(
        self, result: ScanResult, root: HostRoot, staging: Path, policy: str = evidence.POLICY
    ) -> None:
        self.result = result
        self.policy = policy
        self.hashed_only = 0
        """Candidates whose facts, not content, went into the bundle."""
        self.root = root
        self.staging = staging
        self.absent: Set[str] = set()
        """Facts-only candidates found absent (no index entry; their RECORD rows are left out
        of the inventory but for a few, :func:`~sitesweep.bundle.serialize.inventory_chunks`)."""
        self._gaps = GapBound(owners_of(result.inventory))
        """The bundle's own gaps (copies that failed), bounded as they come: the files a forged
        RECORD names and a finding lists would otherwise be one gap each."""
        self.digests: Dict[str, str] = {}
        """SHA-256 of the files written so far, by bundle name (the manifest needs no re-read)."""

    @property
    def gaps(self) -> Tuple[Gap, ...]:
        """The bundle's own gaps, bounded per (reason, distribution or directory) with their
        count (:mod:`sitesweep.gapbound`)."""
        return self._gaps.gaps()

    def write(self, name: str, text: str) -> None:
        self.write_parts(name, (text,))

    def write_parts(self, name: str, parts: Iterable[str]) -> None:
        """Write a text file from its pieces as they come, hashing what is written."""
        target = self.staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        self.digests[name] = _write_parts(target, parts)

    def copy_evidence(self) -> Iterator[str]:
        """Copy what the evidence policy keeps; yield the text of ``evidence/index.json`` in
        pieces (content entries, then the facts-only ones grouped by SHA-256).

        Facts-only entries are held as (path, SHA-256, size) until written: on a host with a
        clean release in 20 environments they are tens of thousands, and as dicts (or as one
        JSON text) they were the bundle writer's largest allocation. They are written from one
        template (:func:`_facts_text`), the text :mod:`~sitesweep.bundle.jsontext` would write
        for their dicts.
        """
        content: List[Dict[str, object]] = []
        evidence_dir = self.staging / layout.EVIDENCE_DIR
        evidence_dir.mkdir(exist_ok=True)  # made already when the index is written as it comes
        masked = config_paths(self.result)
        cut = {p.file.path for p in self.result.inventory.pth_files if p.truncated}
        result = self.result
        planned = evidence.plan(
            result.inventory, result.packs, result.findings, self.policy, read_digests(self.root)
        )
        facts = planned.facts
        for item in planned.kept:
            path, file = item.path, item.known
            if item.why is None:  # facts only, but nothing gave its hash: hashed here
                known = self._facts(path)
                if known is _ABSENT:  # a RECORD row naming no file: verification says
                    self.absent.add(path)  # ``missing``, the YARA pass has its gap; no entry
                    continue
                if known is not None:
                    facts.append((path, *known))
                    continue
            entry: Dict[str, object] = {
                "host_path": path,
                "sha256": file.sha256 if file else None,
                "size": file.size if file else None,
                "kept": "content",
                "why": item.why,
            }
            base = _SAFE.sub("_", path.rsplit("/", 1)[-1])[:100]
            try:
                data = self._copy_of(path, path in cut, entry)
            except HostReadError as exc:
                self._gaps.add(Gap("bundle", path, exc.reason, exc.detail))
                entry["copied"] = False
                entry["reason"] = exc.detail
            else:
                if path in masked:  # a config copy leaves the host with its secrets masked
                    data, changed = redact_config(data)
                    entry["redacted_lines"] = changed
                digest = hashlib.sha256(data).hexdigest()
                name = f"{digest[:16]}-{base}{layout.EVIDENCE_SUFFIX}"
                target = evidence_dir / name
                if not target.exists():  # same name = same content: one copy serves both paths
                    target.write_bytes(data)
                    target.chmod(0o444)
                    self.digests[f"{layout.EVIDENCE_DIR}/{name}"] = digest
                entry["copied"] = True
                entry["bundle_path"] = f"{layout.EVIDENCE_DIR}/{name}"
                entry["copied_sha256"] = digest
            content.append(entry)
        # Facts-only entries grouped by SHA-256: the same file in 20 environments is then
        # 20 neighbouring entries that compress to little more than one (in path order they
        # lie a whole environment apart, beyond gzip's window: 3.8 MB instead of 0.7 MB).
        facts.sort(key=itemgetter(0))  # by path (already, but for the ones hashed here)...
        facts.sort(key=itemgetter(1))  # ...then by SHA-256 (stable: path order kept within)
        self.hashed_only = len(facts)
        yield from _index_chunks(content, facts)

    def _facts(self, path: str) -> Optional[Tuple[str, Optional[int]]]:
        """(SHA-256 hex, size) of a facts-only entry whose hash nothing gave, hashed here;
        ``None`` when it cannot be hashed (its content is then tried, or its gap recorded);
        :data:`_ABSENT` when there is no such file (no entry is made).

        Only a regular file is hashed, the one its ``lstat`` saw: a final symlink (a RECORD row
        pointing at ``/etc/shadow``) is never followed, as its copy would not be (its content
        entry then says why and a gap is recorded)."""
        try:
            seen = self.root.stat_result(path)
        except HostReadError as exc:
            return _ABSENT if exc.reason is GapReason.VANISHED else None
        if not stat.S_ISREG(seen.st_mode):
            return None
        hashed = known_digest(self.root, path, seen)  # RECORD verification hashed it
        if hashed is not None:
            return (hashed[0].hex(), hashed[1])
        try:
            digest = hash_file(self.root, path, EVIDENCE_LIMIT, seen=seen)
        except HostReadError:
            return None
        return (digest.sha256, digest.size)

    def _copy_of(self, path: str, truncatable: bool, entry: Dict[str, object]) -> bytes:
        """The bytes to copy; an oversized ``.pth`` gives its first PTH_LIMIT bytes (the part
        split line by line), and its index entry says ``truncated`` beside the true size and hash.

        Every copy is charged to the bundle's evidence budget first
        (:func:`sitesweep.budget.charge_copy`).

        Raises:
            HostReadError: nothing can be copied (a gap), ``budget_exhausted`` included.
        """
        size = self.root.lstat(path).size
        try:
            charge_copy(self.root, path, min(size, EVIDENCE_LIMIT))
            return HostContent(self.root).read(path, EVIDENCE_LIMIT)  # no final symlink
        except HostReadError as exc:
            if not truncatable or exc.reason is not GapReason.TOO_LARGE:
                raise
        entry["truncated"] = True
        return self.root.read_head(path, PTH_LIMIT)

    def write_exports(self, run: RunInfo, seed: str) -> None:
        facts = collection_facts(
            self.result, run.mode, (run.started, run.finished), run.argv, run.custody, run.live_host
        )
        for name, parts in export_parts(self.result, facts, seed, run.threshold):
            self.write_parts(name, parts)

    def manifest(self, run: RunInfo, extra_gaps: Sequence[Gap]) -> Dict[str, object]:
        inv = self.result.inventory
        files = sorted(
            p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file()
        )
        return {
            "schema_version": layout.SCHEMA_VERSION,
            "tool": tool_doc(),
            "packs": [
                {"id": p.id, "version": p.version, "sha256": p.sha256}
                for p in self.result.packs.packs
            ],
            "custody": custody_doc(run.custody),
            "command": command_line(run.argv),
            "encrypted_to": list(run.encrypt_to),
            "host": {
                "hostname": inv.identity.hostname,
                "machine_id": inv.identity.machine_id,
                "os_release": inv.identity.os_release,
                "kernel": inv.identity.kernel,
                "os": {
                    "family": inv.os.family.value,
                    "name": inv.os.name,
                    "version": inv.os.version,
                },
                **live_host_doc(run.live_host),
            },
            "mode": run.mode,
            "scan_root": inv.root,
            "live": inv.live,
            "argv": list(run.argv),
            "started": run.started.isoformat().replace("+00:00", "Z"),
            "finished": run.finished.isoformat().replace("+00:00", "Z"),
            "bundle_gaps": [
                {"path": g.path, "reason": g.reason.value, "detail": g.detail} for g in extra_gaps
            ],
            "files": {
                name: self.digests.get(name) or _sha256_file(self.staging / name) for name in files
            },
            "reduced_checks": [{"area": a, "detail": d} for a, d in run.reduced],
            "evidence_policy": {"mode": run.evidence, "hashed_only": self.hashed_only},
        }


_ITEM = "\n  "
"""A newline and the indentation of an item of the index's top-level array."""
_OPEN = "\x00"
"""Where a value goes in :data:`_FACTS_TEXT` (no JSON text holds a raw NUL)."""
_FACTS_TEXT = (
    "{"
    + "".join(
        f"{_ITEM}  {encode_basestring_ascii(key)}: {value},"
        for key, value in (
            ("copied", "false"),
            ("host_path", _OPEN),
            ("kept", encode_basestring_ascii(HASHED_ONLY)),
            ("reason", encode_basestring_ascii(FACTS_REASON)),
            ("sha256", _OPEN),
            ("size", _OPEN),
        )
    )[:-1]
    + _ITEM
    + "}"
)
"""A facts-only index entry as :func:`sitesweep.bundle.jsontext.encode` writes its dict (keys
sorted, ``indent=2``, an item of the top-level array): host path, SHA-256 and size left open."""
_FACTS_HEAD, _FACTS_SHA, _FACTS_SIZE, _FACTS_TAIL = _FACTS_TEXT.split(_OPEN)
_FACTS_BATCH = 512
"""Facts-only entries joined into one piece of the index text."""


def _facts_text(host_path: str, sha256: str, size: Optional[int]) -> str:
    """A facts-only entry of the index (``{"copied": false, "host_path": ..., "kept": "hashed
    only", "reason": ..., "sha256": ..., "size": ...}``) as JSON text."""
    return (
        f"{_FACTS_HEAD}{encode(host_path, _ITEM)}{_FACTS_SHA}{encode(sha256, _ITEM)}"
        f"{_FACTS_SIZE}{encode(size, _ITEM)}{_FACTS_TAIL}"
    )


def _size_text(size: Optional[int]) -> str:
    if size is None:
        return "null"
    return int.__repr__(size) if size.__class__ is int else encode(size, _ITEM)


def _index_chunks(
    content: Sequence[Dict[str, object]], facts: Sequence[evidence.Fact]
) -> Iterator[str]:
    """The text of the index array (``jsontext.dumps`` of its entries, without the final
    newline): content entries one piece each, facts-only entries in batches."""
    if not content and not facts:
        yield "[]"
        return
    esc = encode_basestring_ascii
    head, at_sha, at_size, tail = _FACTS_HEAD, _FACTS_SHA, _FACTS_SIZE, _FACTS_TAIL
    opening = "[" + _ITEM
    for entry in content:
        yield opening + encode(entry, _ITEM)
        opening = "," + _ITEM
    for start in range(0, len(facts), _FACTS_BATCH):
        texts = [  # _facts_text, inlined: tens of thousands of entries
            f"{head}{esc(path)}{at_sha}{esc(sha256)}{at_size}{_size_text(size)}{tail}"
            if path.__class__ is str and sha256.__class__ is str
            else _facts_text(path, sha256, size)
            for path, sha256, size in facts[start : start + _FACTS_BATCH]
        ]
        yield opening + ("," + _ITEM).join(texts)
        opening = "," + _ITEM
    yield "\n]"


def _write_parts(target: Path, parts: Iterable[str]) -> str:
    """Write text pieces to ``target`` in batches as they come; return the file's SHA-256."""
    sha = hashlib.sha256()
    batch: List[str] = []
    size = 0
    with target.open("wb") as fh:
        for part in chain(parts, ("",)):  # "": flush the last batch
            batch.append(part)
            size += len(part)
            if size >= _WRITE_BATCH or not part:
                data = _encode("".join(batch))
                sha.update(data)
                fh.write(data)
                batch, size = [], 0
    return sha.hexdigest()


def _encode(text: str) -> bytes:
    """What ``Path.write_text(text, encoding="utf-8", errors="backslashreplace")`` writes.

    A host path may hold undecodable bytes (surrogate escapes): they are written as \\udcXX
    escapes rather than fail the bundle. The JSON files are ASCII and keep them exactly.
    """
    if os.linesep != "\n":  # text mode's newline translation
        text = text.replace("\n", os.linesep)
    return text.encode("utf-8", errors="backslashreplace")


def write_bundle(
    result: ScanResult,
    root: HostRoot,
    output: Path,
    run: RunInfo,
    extra: Optional[Mapping[str, str]] = None,
) -> BundlePaths:
    """Write the bundle directory and its ``.tar.gz`` under ``output``.

    ``extra`` are more documents (name to text), hashed in the manifest like the others (an
    image scan's ``image.json``).

    Raises:
        OutputError: the output directory cannot be created or written.
    """
    refuse_bundle_dir(output, "a bundle")
    name = _unused_name(output, bundle_name(result.inventory.identity.hostname, run.started))
    final = output / name
    staging = output / f"{name}.partial"
    made = False
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o700)  # host details an attacker would like: owner only
        made = True
        writer = _Writer(result, root, staging, run.evidence)
        writer.write_parts(layout.EVIDENCE_INDEX, chain(writer.copy_evidence(), ("\n",)))
        if result.matched:  # observations only: no findings file, nothing judged
            writer.write(layout.FINDINGS, dumps(findings_doc(result, run.threshold)))
        writer.write(
            layout.ENVIRONMENTS,
            dumps([environment_dict(e) for e in result.inventory.environments]),
        )
        writer.write_parts(layout.INVENTORY, inventory_chunks(result, writer.absent))
        writer.write(layout.COVERAGE, dumps(coverage_doc(result, writer.gaps)))
        writer.write(layout.REPORT_TEXT, render_text_report(result, run.threshold))
        writer.write_exports(run, f"{name}|{result.inventory.identity.machine_id}")
        for doc_name, text in (extra or {}).items():
            writer.write(doc_name, text)
        writer.write(layout.MANIFEST, dumps(writer.manifest(run, writer.gaps)))
        if os.path.lexists(final):  # planted since the name was chosen: never replace it
            raise FileExistsError(errno.EEXIST, "appeared while the bundle was written", final)
        staging.rename(final)
        archive = output / f"{name}.tar.gz"
        with (
            open_new(archive) as raw,
            tarfile.open(
                str(archive), "w:gz", fileobj=raw, compresslevel=ARCHIVE_COMPRESSLEVEL
            ) as tar,
        ):
            tar.add(final, arcname=name)
    except OSError as exc:
        raise OutputError(f"cannot write the bundle under {output}: {exc}") from exc
    finally:
        if made and staging.is_dir() and not staging.is_symlink():  # failed before the rename
            shutil.rmtree(staging, ignore_errors=True)
    if run.encrypt_to:
        sealed = seal_bundle(final, archive, run.encrypt_to)
        return BundlePaths(final, sealed, encrypted=True, archive_sha256=_sha256_file(sealed))
    return BundlePaths(final, archive, archive_sha256=_sha256_file(archive))


def write_analysis(
    result: ScanResult,
    source: Path,
    source_manifest_sha256: str,
    output: Path,
    run: RunInfo,
    extra: Optional[Mapping[str, bytes]] = None,
    exports: bool = True,
) -> Path:
    """Write the findings of ``analyze`` on a bundle into a new directory under ``output``.

    ``exports=False`` leaves out the export formats (HTML, CSV, SBOM, timeline, SARIF...): for
    a bundle whose host matched it already, whose own exports are in the bundle and whose
    complete findings are this directory's ``findings.json``.

    The source bundle is left untouched (its manifest still verifies); the new directory names it
    and records the SHA-256 of its manifest, so the analysis is tied to the evidence it judged.
    ``extra`` are more files of the analysis (name to content), hashed in its manifest like the
    rest (the package index's answers, for custody).
    """
    base = source.name
    for suffix in (".age", ".tar.gz"):
        base = base[: -len(suffix)] if base.endswith(suffix) else base
    stamp = run.started.strftime("%Y%m%dT%H%M%SZ")
    refuse_bundle_dir(output, "an analysis")
    target = output / _unused_name(output, f"{base}-analysis-{stamp}")
    try:
        target.mkdir(parents=True)
        (target / layout.FINDINGS).write_text(
            dumps(findings_doc(result, run.threshold)), encoding="utf-8"
        )
        (target / layout.COVERAGE).write_text(dumps(coverage_doc(result)), encoding="utf-8")
        (target / layout.REPORT_TEXT).write_text(
            render_text_report(result, run.threshold), encoding="utf-8", errors="backslashreplace"
        )
        facts = collection_facts(
            result, "analyze", (run.started, run.finished), run.argv, run.custody, None, str(source)
        )
        written_parts = export_parts(result, facts, target.name, run.threshold) if exports else ()
        for name, parts in written_parts:
            _write_parts(target / name, parts)
        for name, data in (extra or {}).items():
            (target / name).write_bytes(data)
        written = sorted(p.name for p in target.iterdir() if p.is_file())
        manifest = {
            "schema_version": layout.SCHEMA_VERSION,
            "mode": "analyze",
            "tool": tool_doc(),
            "packs": [
                {"id": p.id, "version": p.version, "sha256": p.sha256} for p in result.packs.packs
            ],
            "custody": custody_doc(run.custody),
            "command": command_line(run.argv),
            "source_bundle": {"path": str(source), "manifest_sha256": source_manifest_sha256},
            "argv": list(run.argv),
            "started": run.started.isoformat().replace("+00:00", "Z"),
            "finished": run.finished.isoformat().replace("+00:00", "Z"),
            "files": {n: _sha256_file(target / n) for n in written},
        }
        (target / layout.MANIFEST).write_text(dumps(manifest), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the analysis under {output}: {exc}") from exc
    return target
