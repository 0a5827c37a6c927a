"""A pack's indicators as a MISP event, and a MISP event as a pack (optional extra ``intel``).

Events are built and read with PyMISP's own classes (:class:`pymisp.MISPEvent`), offline: no MISP
server is contacted. What sitesweep writes carries its meaning in attribute comments
(``affected``, ``advisory``, ``artifact``, ``credential``, ``site_path=...``) so that an event
exported by one responder imports back as the same pack at another's; an event from elsewhere
imports by attribute type, and what a pack cannot hold is listed, never dropped silently.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sitesweep.intel import ExtraMissing
from sitesweep.packs.draft import PackDraft
from sitesweep.packs.model import Pack
from sitesweep.packs.values import ADVISORY_ID

TAG = "sitesweep"
"""Tag on every event sitesweep exports."""


def _pymisp() -> Any:
    try:
        import pymisp
    except ImportError as exc:
        raise ExtraMissing.needing("pymisp", "MISP support") from exc
    return pymisp


def pack_to_misp(pack: Pack) -> str:
    """Return ``pack`` as a MISP event (JSON text)."""
    pymisp = _pymisp()
    event = pymisp.MISPEvent()
    event.info = pack.title
    event.threat_level_id = 1
    event.analysis = 2
    if pack.window_start is not None:
        event.set_date(pack.window_start.date())
    event.add_tag(f"{TAG}:pack={pack.id}")
    event.add_tag("tlp:clear")

    for kind, value, comment, category in _attributes(pack):
        extra: Dict[str, Any] = {"comment": comment}
        if category is not None:
            extra["category"] = category
        event.add_attribute(kind, value, **extra)
    text: str = event.to_json(indent=2)
    return text + "\n"


Attribute = Tuple[str, str, str, Optional[str]]
"""(type, value, comment, category or None for the type's default)."""


def _attributes(pack: Pack) -> Iterator[Attribute]:
    """Every attribute of the event of ``pack``, with sitesweep's meaning in its comment."""
    for release in pack.affected:
        specs = "; ".join(str(s) for s in release.specifiers)
        yield "text", f"{release.name} {specs}", f"affected: {release.note}", "Other"
    for advisory in pack.advisories:
        kind = "vulnerability" if advisory.startswith("CVE-") else "text"
        yield kind, advisory, "advisory", "External analysis"
    for url in pack.references:
        yield "link", url, "reference", "External analysis"
    yield from (("domain", d, "network", None) for d in pack.network.domains)
    yield from (("ip-dst", i, "network", None) for i in pack.network.ips)
    yield from (("url", u, "network", None) for u in pack.network.urls)
    for item in pack.files:
        where = f"; site_path={item.site_path}" if item.site_path else ""
        comment = f"file{where}; {item.description}"
        for sha in sorted(item.sha256):
            if item.name:
                yield "filename|sha256", f"{item.name}|{sha}", comment, "Artifacts dropped"
            else:
                yield "sha256", sha, comment, "Artifacts dropped"
        if item.name and item.name_is_indicator:
            indicator = f"indicator name{where}; {item.description}"
            yield "filename", item.name, indicator, "Artifacts dropped"
    for artifact in pack.artifacts:
        value = f"{artifact.filename}|{artifact.sha256}"
        yield "filename|sha256", value, f"artifact; {artifact.description}", "Payload delivery"
    for persistence in pack.persistence:
        yield "filename", persistence.path, persistence.description, "Persistence mechanism"
    yield from (("text", c, "credential", "Other") for c in pack.credentials)


def misp_to_draft(data: bytes, source: str) -> PackDraft:
    """Read a MISP event (JSON, with or without the ``{"Event": ...}`` wrapper) as a pack draft.

    Raises:
        ValueError: not a MISP event.
    """
    pymisp = _pymisp()
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{source}: not JSON: {exc}") from exc
    event = pymisp.MISPEvent()
    try:
        event.from_dict(**doc)
    except Exception as exc:  # PyMISP raises several types for a bad event
        raise ValueError(f"{source}: not a MISP event: {exc}") from exc
    draft = PackDraft(title=str(event.info or "Imported MISP event"))
    version = getattr(event, "timestamp", None)
    if version is not None:
        draft.version = str(int(version.timestamp())) if hasattr(version, "timestamp") else "1"
    attributes: List[Any] = list(event.attributes)
    for obj in event.objects:
        _read_object(obj, draft)
    for attribute in attributes:
        comment = str(getattr(attribute, "comment", "") or "")
        _read_attribute(str(attribute.type), str(attribute.value), comment, draft)
    return draft


def _read_object(obj: Any, draft: PackDraft) -> None:
    """A MISP ``file`` object: its name and SHA-256 together."""
    if str(obj.name) != "file":
        draft.skipped.append(f"object {obj.name!s}: not an object a pack can hold")
        return
    values: Dict[str, str] = {str(a.object_relation): str(a.value) for a in obj.attributes}
    sha, name = values.get("sha256"), values.get("filename")
    if sha and name:
        draft.file(name, None, f"{name} (MISP file object)").sha256.append(sha.lower())
    else:
        draft.skipped.append("file object without both a file name and a SHA-256")


def _comment(text: str) -> Tuple[str, Optional[str], str]:
    """Split sitesweep's attribute comment: (kind, site path or None, description)."""
    parts = [p.strip() for p in text.split(";")]
    kind = parts[0] if parts else ""
    site = None
    if len(parts) > 1 and parts[1].startswith("site_path="):
        site = parts[1][len("site_path=") :]
        parts = [parts[0], *parts[2:]]
    return kind, site, "; ".join(parts[1:]) or text


def _read_attribute(kind: str, value: str, comment: str, draft: PackDraft) -> None:  # noqa: C901 - one branch per type
    """Add one attribute to the draft, by its type (and sitesweep's comment, when present)."""
    head, site, description = _comment(comment)
    if kind == "text" and head.startswith("affected"):
        name, _, specs = value.partition(" ")
        specifiers = tuple(s.strip() for s in specs.split(";") if s.strip())
        note = comment.partition(":")[2].strip() or "Imported from a MISP event."
        draft.affected.append((name, specifiers, note))
    elif (kind in ("vulnerability", "text") and head == "advisory") or (
        kind == "vulnerability" and ADVISORY_ID.fullmatch(value)
    ):
        draft.advisories.append(value)
    elif kind == "text" and head == "credential":
        draft.credentials.append(value)
    elif kind == "link":
        draft.references.append(value)
    elif kind in ("domain", "hostname"):
        draft.domains.append(value)
    elif kind in ("ip-dst", "ip-src"):
        draft.ips.append(value)
    elif kind == "url":
        draft.urls.append(value)
    elif kind == "filename|sha256" and head == "artifact":
        name, _, sha = value.partition("|")
        draft.artifacts.append((sha.lower(), name, description))
    elif kind == "filename|sha256":
        name, _, sha = value.partition("|")
        draft.file(name, site, description).sha256.append(sha.lower())
    elif kind == "sha256" and site is not None:
        draft.file(None, site, description).sha256.append(value.lower())
    elif kind == "sha256":
        draft.artifacts.append((value.lower(), "unnamed", description))
    elif kind == "filename" and value.startswith(("/", "~/")):
        draft.persistence.append((value, comment or "persistence path from a MISP event"))
    elif kind == "filename":
        draft.file(value, site, description).name_is_indicator = True
    else:
        draft.skipped.append(f"attribute {kind} {value!r}: a type a pack cannot hold")
