"""A pack's indicators as a STIX 2.1 bundle, and a STIX bundle as a pack (optional extra ``intel``).

Bundles are built and parsed with the OASIS ``stix2`` library, offline. A pack becomes a
``report`` (title, references, credentials as ``x_sitesweep_credentials``) that refers to one
``indicator`` per indicator of the pack, with standard patterns (``domain-name``, ``ipv4-addr``,
``url``, ``file`` name and ``hashes.'SHA-256'``, ``software`` name and version for affected
releases), and one ``vulnerability`` per advisory id. sitesweep's own meaning rides in
``x_sitesweep_*`` properties so that a bundle it wrote imports back as the same pack; a bundle
from elsewhere imports by its patterns, and what a pack cannot hold is listed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Dict, Iterator, List, Tuple

from sitesweep.intel import ExtraMissing
from sitesweep.packs.draft import PackDraft
from sitesweep.packs.model import Pack

_COMPARISON = re.compile(
    r"(?P<type>[a-z0-9-]+):(?P<prop>[a-z0-9_]+(?:\.(?:'[^']+'|[a-z0-9_]+))*)\s*=\s*"
    r"'(?P<value>(?:[^'\\]|\\.)*)'"
)


def _stix2() -> Any:
    try:
        import stix2
    except ImportError as exc:
        raise ExtraMissing.needing("stix2", "STIX support") from exc
    return stix2


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _patterns(pack: Pack) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    """(name, STIX pattern, custom properties) of each indicator of ``pack``."""
    for release in pack.affected:
        specs = [str(s) for s in release.specifiers]
        pins = [s[2:] for s in specs if s.startswith("==") and "," not in s and "*" not in s]
        versions = pins or ["*"]
        clauses = " OR ".join(
            f"[software:name = '{_quote(release.name)}' AND software:version = '{_quote(v)}']"
            for v in versions
        )
        custom = {"x_sitesweep_kind": "affected", "x_sitesweep_specifiers": specs}
        yield f"{release.name}: {release.note}", clauses, custom
    for domain in pack.network.domains:
        yield domain, f"[domain-name:value = '{_quote(domain)}']", {}
    for ip in pack.network.ips:
        kind = "ipv6-addr" if ipaddress.ip_address(ip).version == 6 else "ipv4-addr"
        yield ip, f"[{kind}:value = '{ip}']", {}
    for url in pack.network.urls:
        yield url, f"[url:value = '{_quote(url)}']", {}
    for item in pack.files:
        extra: Dict[str, Any] = {"x_sitesweep_kind": "file"}
        if item.site_path:
            extra["x_sitesweep_site_path"] = item.site_path
        name = f" AND file:name = '{_quote(item.name)}'" if item.name else ""
        for sha in sorted(item.sha256):
            yield item.description, f"[file:hashes.'SHA-256' = '{sha}'{name}]", extra
        if item.name and item.name_is_indicator:
            named = {**extra, "x_sitesweep_kind": "indicator-name"}
            yield item.description, f"[file:name = '{_quote(item.name)}']", named
    for artifact in pack.artifacts:
        pattern = (
            f"[file:hashes.'SHA-256' = '{artifact.sha256}' AND "
            f"file:name = '{_quote(artifact.filename)}']"
        )
        yield artifact.description, pattern, {"x_sitesweep_kind": "artifact"}
    for persistence in pack.persistence:
        base = persistence.path.rsplit("/", 1)[-1]
        custom = {"x_sitesweep_kind": "persistence", "x_sitesweep_path": persistence.path}
        yield persistence.description, f"[file:name = '{_quote(base)}']", custom


def pack_to_stix(pack: Pack) -> str:
    """Return ``pack`` as a STIX 2.1 bundle (JSON text)."""
    stix2 = _stix2()
    identity = stix2.Identity(name="sitesweep", identity_class="system")
    objects: List[Any] = [identity]
    for description, pattern, custom in _patterns(pack):
        objects.append(
            stix2.Indicator(
                name=description[:200],
                description=description,
                pattern=pattern,
                pattern_type="stix",
                indicator_types=["malicious-activity"],
                created_by_ref=identity.id,
                valid_from=pack.window_start or "2000-01-01T00:00:00Z",
                allow_custom=True,
                **custom,
            )
        )
    for advisory in pack.advisories:
        source = advisory.split("-", 1)[0].lower()
        reference = {"source_name": "cve" if source == "cve" else source, "external_id": advisory}
        objects.append(
            stix2.Vulnerability(
                name=advisory, external_references=[reference], created_by_ref=identity.id
            )
        )
    references = [{"source_name": "web", "url": url} for url in pack.references]
    report = stix2.Report(
        name=pack.title,
        published=pack.window_start or "2000-01-01T00:00:00Z",
        report_types=["threat-report"],
        object_refs=[o.id for o in objects[1:]] or [identity.id],
        created_by_ref=identity.id,
        external_references=references or None,
        x_sitesweep_pack=pack.id,
        x_sitesweep_credentials=list(pack.credentials),
        allow_custom=True,
    )
    bundle = stix2.Bundle(*objects, report, allow_custom=True)
    text: str = bundle.serialize(pretty=True)
    return text + "\n"


def stix_to_draft(data: bytes, source: str) -> PackDraft:
    """Read a STIX 2.1 bundle as a pack draft.

    Raises:
        ValueError: not a STIX bundle.
    """
    stix2 = _stix2()
    try:
        json.loads(data)
        bundle = stix2.parse(data.decode("utf-8"), allow_custom=True)
    except Exception as exc:  # stix2 raises several types for bad input
        raise ValueError(f"{source}: not a STIX 2.1 bundle: {exc}") from exc
    draft = PackDraft(title="Imported STIX bundle")
    for obj in getattr(bundle, "objects", None) or []:
        kind = obj.get("type")
        if kind in ("report", "grouping"):
            draft.title = str(obj.get("name") or draft.title)
            draft.credentials += [str(c) for c in obj.get("x_sitesweep_credentials", [])]
            urls = (r.get("url") for r in obj.get("external_references", []) or [])
            draft.references += [str(u) for u in urls if u]
        elif kind == "vulnerability":
            draft.advisories.append(str(obj.get("name")))
        elif kind == "indicator":
            _read_indicator(obj, draft)
    return draft


def _read_indicator(obj: Any, draft: PackDraft) -> None:
    pattern = str(obj.get("pattern", ""))
    found = [(m["type"], m["prop"], _unquote(m["value"])) for m in _COMPARISON.finditer(pattern)]
    sitesweep = obj.get("x_sitesweep_kind")
    description = str(obj.get("description") or obj.get("name") or "indicator from a STIX bundle")
    values: Dict[Tuple[str, str], str] = {(t, p): v for t, p, v in found}
    name = values.get(("file", "name"))
    sha = values.get(("file", "hashes.'SHA-256'")) or values.get(("file", "hashes.SHA-256"))
    if sitesweep == "affected" or any(t == "software" for t, _, _ in found):
        software = next((v for t, p, v in found if (t, p) == ("software", "name")), "")
        specs = obj.get("x_sitesweep_specifiers") or [
            f"=={v}" for t, p, v in found if (t, p) == ("software", "version") and v != "*"
        ]
        note = description.partition(": ")[2] or description
        draft.affected.append((software, tuple(str(s) for s in specs), note))
    elif sitesweep == "persistence":
        draft.persistence.append((str(obj.get("x_sitesweep_path")), description))
    elif sitesweep == "artifact" or (sha and name and sitesweep is None):
        draft.artifacts.append((str(sha).lower(), name or "unnamed", description))
    elif sha:
        site = obj.get("x_sitesweep_site_path")
        draft.file(name, site, description).sha256.append(sha.lower())
    elif name:
        draft.file(name, obj.get("x_sitesweep_site_path"), description).name_is_indicator = True
    else:
        for kind, _prop, value in found:
            if kind == "domain-name":
                draft.domains.append(value)
            elif kind in ("ipv4-addr", "ipv6-addr"):
                draft.ips.append(value)
            elif kind == "url":
                draft.urls.append(value)
            else:
                draft.skipped.append(
                    f"pattern {pattern!r}: {kind} is not an indicator kind packs hold"
                )
