"""Write OSV malicious-package records as a signature pack (``signatures import-osv``).

The pack is written as TOML text (:mod:`sitesweep.packs.tomlwrite`), loaded back with the pack
loader in a scratch directory, and only then placed at the output: an import either produces a
pack that ``scan`` accepts or fails without leaving a file behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Pattern, Sequence, Tuple

from sitesweep.errors import OsvImportError
from sitesweep.outputs import write_new
from sitesweep.packs.draft import (
    DraftFile,
    artifact_table,
    file_table,
    indicator_id,
    persistence_table,
)
from sitesweep.packs.loader import FORMAT_VERSION, PACK_FILE, load_pack
from sitesweep.packs.model import Pack
from sitesweep.packs.osv import OsvRecord, OsvSkip, read_records
from sitesweep.packs.tomlwrite import TomlWriter
from sitesweep.packs.values import ADVISORY_ID
from sitesweep.scratch import scratch_dir

__all__ = ["OsvImport", "import_osv", "render_pack"]

_ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_OSV_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_OSV_URL = "https://osv.dev/vulnerability/"

_REMEDIATION = """\
Imported from OSV malicious-package records: these releases were published with malicious code. \
Remove them from every environment, purge pip, uv, poetry and conda caches and check internal \
mirrors. Treat a host where one was installed as compromised: read each record (the references, \
or https://osv.dev/vulnerability/<id>) for what the payload does, remove what it left behind and \
rotate the credentials the host held."""


@dataclass(frozen=True)
class OsvImport:
    """The outcome of an import.

    Attributes:
        pack: the pack as loaded from the output directory.
        records: ids of the records imported.
        skipped: what was not imported, and why.
    """

    pack: Pack
    records: Tuple[str, ...]
    skipped: Tuple[OsvSkip, ...]
    changes: Tuple[str, ...] = ()
    """With ``update``: records added, changed or removed since the last import (empty when the
    pack was left as it was)."""


RECORDS_FILE = "osv-records.json"
"""Beside an imported pack: each record's id and ``modified`` time, for ``--update``."""


def import_osv(
    source: Path, output: Path, *, overwrite: bool = False, update: bool = False
) -> OsvImport:
    """Turn the OSV records in ``source`` into the pack directory ``output``.

    Args:
        source: an OSV ``.json`` file or a directory searched recursively for them.
        output: the pack directory to write; its name becomes the pack id.
        overwrite: replace an existing ``pack.toml`` in ``output``.
        update: keep an imported pack in step with its feed: rewrite it only when a record was
            added, changed (its ``modified`` time) or removed, and say which.

    Returns:
        The loaded pack, the imported record ids and the skipped items.

    Raises:
        OsvImportError: bad output name, existing pack, nothing importable, or unwritable output.
        PackError: the generated pack does not load (a bug: reported, nothing written).
    """
    pack_id = output.name
    if not _ID_RE.fullmatch(pack_id):
        message = f"{output}: the directory name {pack_id!r} is not a valid pack id"
        raise OsvImportError(message + " (lower-case letters, digits, '.', '_', '-')")
    target = output / PACK_FILE
    if target.exists() and not (overwrite or update):
        raise OsvImportError(f"{target} exists; use --force to replace it or --update")
    records, skipped = read_records(source)
    if not records:
        raise OsvImportError(_nothing_message(source, skipped))
    stamps = {r.id: r.modified for r in records}
    changes: Tuple[str, ...] = ()
    if update and target.exists():
        changes = _changes(_read_stamps(output / RECORDS_FILE), stamps)
        if not changes:
            return OsvImport(load_pack(output), tuple(r.id for r in records), skipped, ())
    elif update:
        changes = tuple(f"added {i}" for i in stamps)
    text = render_pack(pack_id, records, str(source))
    _check_in_scratch(pack_id, text)
    try:
        output.mkdir(parents=True, exist_ok=True)
        write_new(target, text)
        stamp_text = json.dumps(stamps, indent=2, sort_keys=True) + "\n"
        write_new(output / RECORDS_FILE, stamp_text)
    except OSError as exc:
        raise OsvImportError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    return OsvImport(load_pack(output), tuple(r.id for r in records), skipped, changes)


def _read_stamps(path: Path) -> Dict[str, str]:
    """Return the record stamps of the last import (empty when there are none)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {str(k): str(v) for k, v in doc.items()}


def _changes(old: Dict[str, str], new: Dict[str, str]) -> Tuple[str, ...]:
    """Return what differs between two imports' record stamps, one line per record."""
    added = [f"added {i}" for i in sorted(set(new) - set(old))]
    removed = [f"removed {i}" for i in sorted(set(old) - set(new))]
    changed = [f"changed {i}" for i in sorted(set(new) & set(old)) if new[i] != old[i]]
    return (*added, *changed, *removed)


def _nothing_message(source: Path, skipped: Sequence[OsvSkip]) -> str:
    """Explain why nothing could be imported, with the first few reasons."""
    lines = [f"{source}: no malicious PyPI package to import"]
    lines += [f"  {item}" for item in skipped[:10]]
    if len(skipped) > 10:
        lines.append(f"  ... {len(skipped) - 10} more")
    return "\n".join(lines)


def _check_in_scratch(pack_id: str, text: str) -> None:
    """Load the pack from a scratch directory; raises PackError if it is invalid."""
    with scratch_dir("sitesweep-osv-") as scratch:
        directory = Path(scratch) / pack_id
        directory.mkdir()
        (directory / PACK_FILE).write_text(text, encoding="utf-8")
        load_pack(directory)


def render_pack(pack_id: str, records: Sequence[OsvRecord], source: str) -> str:
    """Return the ``pack.toml`` text for ``records`` (at least one)."""
    doc = TomlWriter()
    doc.comment(f"Signature pack generated by 'sitesweep signatures import-osv' from {source}.")
    doc.comment(f"{len(records)} OSV malicious-package record(s); see signatures/README.md.")
    doc.comment("Domains and URLs in this file are attacker infrastructure: never visit them.")
    doc.blank()
    doc.value("format", FORMAT_VERSION)
    doc.value("id", pack_id)
    doc.value("title", _title(records))
    doc.comment("Pack revision: the newest 'modified' time of the records.")
    doc.value("version", max((r.modified for r in records), default="") or "1")
    doc.value("references", _all_references(records))
    advisories = _all_advisories(records)
    if advisories:
        doc.value("advisories", advisories)
    families, credentials = payload_credentials(records)
    doc.comment(
        "What the payload steals, for the rotation checklist: the baseline of a credential "
        f"stealer ({', '.join(families)})."
    )
    doc.value("credentials", credentials)
    for record in records:
        _write_affected(doc, record)
    _write_files(doc, records)
    _write_artifacts(doc, records)
    _write_network(doc, records)
    _write_persistence(doc, records)
    doc.blank()
    doc.table("remediation")
    doc.value("text", _REMEDIATION)
    return doc.text()


def _title(records: Sequence[OsvRecord]) -> str:
    """Return the pack title: the record's own for one record, a count for several."""
    if len(records) == 1:
        record = records[0]
        return f"{record.id}: {record.summary or 'malicious PyPI package'}"
    names = sorted({a.name for r in records for a in r.affected})
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(records)} OSV malicious-package records: {shown}"


def _all_references(records: Sequence[OsvRecord]) -> Tuple[str, ...]:
    """Return each record's OSV page and its references, without duplicates."""
    urls: Dict[str, None] = {}
    for record in records:
        if _OSV_ID_RE.fullmatch(record.id) and not _staging(record.id):
            urls[_OSV_URL + record.id] = None
        urls.update(dict.fromkeys(record.references))
    return tuple(urls)


def _all_advisories(records: Sequence[OsvRecord]) -> Tuple[str, ...]:
    """Return every record's id and aliases that are advisory ids, without duplicates."""
    ids = (i for r in records for i in (r.id, *r.aliases))
    return tuple(dict.fromkeys(i for i in ids if ADVISORY_ID.fullmatch(i) and not _staging(i)))


def _staging(ident: str) -> bool:
    """Return whether ``ident`` names a staging record (``MAL-0000-*``): no public page."""
    return ident.upper().startswith("MAL-0000-")


def _write_affected(doc: TomlWriter, record: OsvRecord) -> None:
    """Write one ``[[affected]]`` table per PyPI package of ``record``."""
    aliases = f" (aliases: {', '.join(record.aliases)})" if record.aliases else ""
    for affected in record.affected:
        doc.blank()
        doc.comment(f"{record.id}{aliases} from {record.source}")
        doc.comment(f"published {record.published or '?'}, modified {record.modified or '?'}")
        doc.array_table("affected")
        doc.value("name", affected.name)
        doc.value("specifiers", affected.specifiers)
        doc.value("severity", "critical")
        summary = record.summary or "malicious package"
        doc.value("note", f"{record.id}{aliases}: {summary}")


def _write_files(doc: TomlWriter, records: Sequence[OsvRecord]) -> None:
    """Write ``[[files]]``: injected files by site path and hash, dropped files by name."""
    seen: Dict[str, None] = {}
    for record in records:
        hashes: Dict[str, List[str]] = {}
        for path, sha in record.files:
            hashes.setdefault(path, []).append(sha)
        for path, values in hashes.items():
            description = f"{path} as published in the malicious release ({record.id})"
            file_table(
                doc,
                indicator_id(f"file-{path}", seen),
                DraftFile(None, path, values, description),
                f"{record.id}: injected file (indicators.evidence_files)",
            )
        for name in record.names:
            description = f"{name}, dropped or run by the payload ({record.id})"
            file_table(
                doc,
                indicator_id(f"name-{name}", seen),
                DraftFile(name, None, [], description, name_is_indicator=True),
                f"{record.id}: a second stage or persistence unit, matched by name",
            )


def _write_artifacts(doc: TomlWriter, records: Sequence[OsvRecord]) -> None:
    """Write ``[[artifacts]]``: released wheels and sdists, and second stages, by SHA-256."""
    seen: Dict[str, None] = {}
    for record in records:
        for filename, sha in record.artifacts:
            if sha not in seen:
                seen[sha] = None
                comment = f"{record.id}: indicators.package_integrity or second_stage"
                artifact_table(doc, sha, filename, f"{filename} from {record.id}", comment)


def _write_persistence(doc: TomlWriter, records: Sequence[OsvRecord]) -> None:
    """Write ``[[persistence]]`` for the host paths the payload persists at."""
    seen: Dict[str, None] = {}
    for record in records:
        for path in record.persistence:
            persistence_table(
                doc,
                indicator_id(f"persist-{path}", seen),
                path,
                f"Persistence of the payload of {record.id}",
                f"{record.id}: second_stage.persistence",
            )


BASELINE_CREDENTIALS = (
    "~/.ssh/", "~/.aws/credentials", "~/.aws/config", "~/.azure/", "~/.config/gcloud/",
    "~/.kube/config", "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "~/.docker/config.json", "~/.npmrc", "~/.pypirc", "~/.git-credentials",
    "~/.config/gh/hosts.yml", "~/.vault-token", ".env", "*.pem",
)  # fmt: skip
"""What every credential stealer of the 2025-2026 waves read (iocs.md 5, "rotation baseline"):
a malicious-package record is assumed to steal these unless its family says more."""

PAYLOAD_FAMILIES: Tuple[Tuple[str, Pattern[str], Tuple[str, ...]], ...] = (
    (
        "TeamPCP",
        re.compile(r"teampcp|tpcp\.tar|sysmon\.py|pgmon|audiomon|litellm_init", re.IGNORECASE),
        ("~/.bash_history", "~/.zsh_history", "~/.gitconfig", "/etc/shadow",
         "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
    ),
    (
        "Shai-Hulud / Hades",
        re.compile(r"shai.?hulud|hades|bun_ran|_index\.js|router_runtime|firescale", re.IGNORECASE),
        ("GITHUB_TOKEN", "NPM_TOKEN", "~/.claude.json", "~/.config/gh/"),
    ),
    (
        "wallet stealer",
        re.compile(r"wallet|seed phrase|keystore|solana|ethereum|bitcoin", re.IGNORECASE),
        ("~/.ethereum/keystore/", "~/.config/solana/", "~/.bitcoin/wallet.dat",
         "~/.electrum/wallets/"),
    ),
)  # fmt: skip
"""Known payload families, recognised in a record's summary and details, and what they add."""


def payload_credentials(records: Sequence[OsvRecord]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Return (families recognised, credentials list) for ``records``."""
    text = " ".join(f"{r.summary} {r.details}" for r in records)
    families = ["baseline"]
    credentials: Dict[str, None] = dict.fromkeys(BASELINE_CREDENTIALS)
    for name, pattern, extra in PAYLOAD_FAMILIES:
        if pattern.search(text):
            families.append(name)
            credentials.update(dict.fromkeys(extra))
    return tuple(families), tuple(credentials)


def _write_network(doc: TomlWriter, records: Sequence[OsvRecord]) -> None:
    """Write ``[network]`` with every record's IoCs, when there are any."""
    domains = tuple(dict.fromkeys(d for r in records for d in r.domains))
    ips = tuple(dict.fromkeys(i for r in records for i in r.ips))
    urls = tuple(dict.fromkeys(u for r in records for u in r.urls))
    if not (domains or ips or urls):
        return
    doc.blank()
    doc.comment("IoCs from the records' database_specific.iocs.")
    doc.table("network")
    for key, values in (("domains", domains), ("ips", ips), ("urls", urls)):
        if values:
            doc.value(key, values)
