"""A pack assembled from someone else's indicators (a MISP event, a STIX bundle), then written.

:class:`PackDraft` is the neutral middle: an importer fills it, :func:`write_draft` renders it as
``pack.toml`` text, loads it in a scratch directory (an import either yields a pack that ``scan``
accepts or writes nothing) and only then places it at the output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from sitesweep.errors import OsvImportError
from sitesweep.outputs import write_new
from sitesweep.packs.loader import FORMAT_VERSION, PACK_FILE, load_pack
from sitesweep.packs.model import Pack
from sitesweep.packs.tomlwrite import TomlWriter
from sitesweep.scratch import scratch_dir

_ID = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")


@dataclass
class DraftFile:
    """A file indicator: a base name and/or a site path, with hashes."""

    name: Optional[str]
    site_path: Optional[str]
    sha256: List[str]
    description: str
    name_is_indicator: bool = False


@dataclass
class PackDraft:
    """Everything a pack says, before validation. Lists keep their order, without duplicates."""

    title: str
    version: str = "1"
    references: List[str] = field(default_factory=list)
    advisories: List[str] = field(default_factory=list)
    credentials: List[str] = field(default_factory=list)
    affected: List[Tuple[str, Tuple[str, ...], str]] = field(default_factory=list)
    """(name, specifiers, note)."""
    files: List[DraftFile] = field(default_factory=list)
    artifacts: List[Tuple[str, str, str]] = field(default_factory=list)
    """(sha256, file name, description)."""
    domains: List[str] = field(default_factory=list)
    ips: List[str] = field(default_factory=list)
    urls: List[str] = field(default_factory=list)
    persistence: List[Tuple[str, str]] = field(default_factory=list)
    """(host path, description)."""
    remediation: str = ""
    skipped: List[str] = field(default_factory=list)
    """What the source held that a pack cannot, said in one line each."""

    def file(self, name: Optional[str], site: Optional[str], description: str) -> DraftFile:
        """Return the file indicator of this name and site path, added when there is none."""
        for item in self.files:
            if item.name == name and item.site_path == site:
                return item
        item = DraftFile(name, site, [], description)
        self.files.append(item)
        return item


def render_draft(pack_id: str, draft: PackDraft, source: str) -> str:
    """Return the ``pack.toml`` text of ``draft``."""
    doc = TomlWriter()
    doc.comment(f"Signature pack imported by sitesweep from {source}.")
    doc.comment("Addresses in this file are attacker infrastructure: never visit them.")
    doc.blank()
    doc.value("format", FORMAT_VERSION)
    doc.value("id", pack_id)
    doc.value("title", draft.title)
    doc.value("version", draft.version)
    for key, values in (
        ("references", draft.references),
        ("advisories", draft.advisories),
        ("credentials", draft.credentials),
    ):
        if values:
            doc.value(key, _unique(values))
    seen: Dict[str, None] = {}
    _write_affected(doc, draft)
    _write_files(doc, draft, seen)
    _write_artifacts(doc, draft)
    _write_network(doc, draft)
    _write_persistence(doc, draft, seen)
    doc.blank()
    doc.table("remediation")
    doc.value("text", draft.remediation or _REMEDIATION)
    return doc.text()


def _write_affected(doc: TomlWriter, draft: PackDraft) -> None:
    for name, specifiers, note in draft.affected:
        doc.blank()
        doc.array_table("affected")
        doc.value("name", name)
        doc.value("specifiers", specifiers)
        doc.value("severity", "critical")
        doc.value("note", note)


def _write_files(doc: TomlWriter, draft: PackDraft, seen: Dict[str, None]) -> None:
    for item in draft.files:
        file_table(doc, indicator_id(f"file-{item.name or item.site_path}", seen), item)


def _write_artifacts(doc: TomlWriter, draft: PackDraft) -> None:
    hashes: Dict[str, None] = {}
    for sha, filename, description in draft.artifacts:
        if sha not in hashes:
            hashes[sha] = None
            artifact_table(doc, sha, filename, description)


def _write_network(doc: TomlWriter, draft: PackDraft) -> None:
    if draft.domains or draft.ips or draft.urls:
        doc.blank()
        doc.table("network")
        for key, values in (("domains", draft.domains), ("ips", draft.ips), ("urls", draft.urls)):
            if values:
                doc.value(key, _unique(values))


def _write_persistence(doc: TomlWriter, draft: PackDraft, seen: Dict[str, None]) -> None:
    for path, description in draft.persistence:
        persistence_table(doc, indicator_id(f"persist-{path}", seen), path, description)


def file_table(doc: TomlWriter, ident: str, item: DraftFile, comment: Optional[str] = None) -> None:
    """Write one ``[[files]]`` table (a critical indicator), after ``comment`` if given."""
    _open(doc, "files", comment)
    doc.value("id", ident)
    if item.name:
        doc.value("name", item.name)
    if item.site_path:
        doc.value("site_path", item.site_path)
    if item.sha256:
        doc.value("sha256", _unique(item.sha256))
    doc.value("severity", "critical")
    doc.value("description", item.description)
    if item.name_is_indicator:
        doc.value("name_is_indicator", True)


def artifact_table(
    doc: TomlWriter, sha: str, filename: str, description: str, comment: Optional[str] = None
) -> None:
    """Write one ``[[artifacts]]`` table, after ``comment`` if given."""
    _open(doc, "artifacts", comment)
    doc.value("sha256", sha)
    doc.value("filename", filename)
    doc.value("description", description)


def persistence_table(
    doc: TomlWriter, ident: str, path: str, description: str, comment: Optional[str] = None
) -> None:
    """Write one ``[[persistence]]`` table (critical), after ``comment`` if given."""
    _open(doc, "persistence", comment)
    doc.value("id", ident)
    doc.value("path", path)
    doc.value("description", description)
    doc.value("severity", "critical")


def _open(doc: TomlWriter, table: str, comment: Optional[str]) -> None:
    doc.blank()
    if comment is not None:
        doc.comment(comment)
    doc.array_table(table)


_REMEDIATION = """\
Imported indicators of a malicious release: remove the affected releases from every environment, \
purge package caches and check internal mirrors; treat a host where one ran as compromised, keep \
the evidence, remove what the payload left and rotate the credentials the host held."""


def write_draft(draft: PackDraft, output: Path, source: str, *, overwrite: bool) -> Pack:
    """Validate ``draft`` as a pack and write it to the pack directory ``output``.

    Raises:
        OsvImportError: bad output name, an existing pack (without ``overwrite``), no affected
            release, or an unwritable output.
        PackError: the draft does not make a valid pack (nothing is written).
    """
    pack_id = output.name
    if not _ID.fullmatch(pack_id):
        raise OsvImportError(f"{output}: the directory name {pack_id!r} is not a valid pack id")
    target = output / PACK_FILE
    if target.exists() and not overwrite:
        raise OsvImportError(f"{target} exists; use --force to replace it")
    if not draft.affected:
        raise OsvImportError(
            f"{source}: names no affected release (a pack needs at least one distribution name "
            "and version)"
        )
    text = render_draft(pack_id, draft, source)
    with scratch_dir("sitesweep-import-") as scratch:
        directory = Path(scratch) / pack_id
        directory.mkdir()
        (directory / PACK_FILE).write_text(text, encoding="utf-8")
        load_pack(directory)
    try:
        output.mkdir(parents=True, exist_ok=True)
        write_new(target, text)
    except OSError as exc:
        raise OsvImportError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    return load_pack(output)


def _unique(values: List[str]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def indicator_id(text: str, seen: Dict[str, None]) -> str:
    """An indicator id made from ``text``, unique among ``seen`` (which it joins)."""
    base = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:60].strip("-._") or "item"
    ident, count = base, 1
    while ident in seen:
        count += 1
        ident = f"{base}-{count}"
    seen[ident] = None
    return ident
