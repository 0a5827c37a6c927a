"""A CycloneDX 1.6 JSON SBOM of every distribution in every environment.

One component per installed distribution and site directory: the same release installed in two
environments is two components (with distinct ``bom-ref``), since a responder removes it from each.
A component's hash is the SHA-256 of its RECORD file where it was read (RECORD lists the hash of
every file the wheel installed, so it stands for the installed files). ``vulnerabilities[]`` has
one entry per signature pack with findings on installed components: the pack's advisory ids (the
CVE, else GHSA, else first id as ``id``, the others as references), its sources, a rating at the
worst finding's severity and the affected components by ``bom-ref``; what is affected comes from
the findings, nothing is judged here.
The serial number is a UUID 5 derived from the bundle: the same bundle always gives the same SBOM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Set
from urllib.parse import quote

from sitesweep import __version__
from sitesweep.bundle.jsontext import JsonArray, chunks
from sitesweep.exports.attack import advisory_url, primary_advisory
from sitesweep.exports.common import PathShower, path_shower
from sitesweep.exports.stream import environment_finder
from sitesweep.metadata.model import Distribution
from sitesweep.model import Severity
from sitesweep.outcome import ScanResult
from sitesweep.textsafe import printable, printable_tree

if TYPE_CHECKING:
    from sitesweep.discovery.model import PythonEnv

SPEC_VERSION = "1.6"
_NAMESPACE = uuid.UUID("6f1d8b52-6a51-4e3e-9a39-2f1c54c1b2a7")
"""Namespace of sitesweep's UUID 5 serial numbers (a fixed random UUID)."""


@lru_cache(maxsize=8192)  # the same releases recur in every environment
def purl(name: str, version: str) -> str:
    """``pkg:pypi/<name>@<version>``, percent-encoded as the purl spec asks.

    A name or version taken from a non-UTF-8 directory name keeps its raw bytes, percent-encoded
    (``caf\udce9`` -> ``caf%E9``): carried faithfully, with an explicit escape.
    """
    raw_name = name.lower().encode("utf-8", "surrogateescape")
    raw_version = version.encode("utf-8", "surrogateescape")
    return f"pkg:pypi/{quote(raw_name, safe='.-_~')}@{quote(raw_version, safe='.-_~')}"


def serial_number(seed: str) -> str:
    """``urn:uuid:`` plus a UUID 5 of ``seed`` (the bundle's identity)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, seed)}"


@dataclass(frozen=True)
class _Prop:
    """A CycloneDX property, written as ``{"name": ..., "value": ...}`` (fields sorted by name).

    A dataclass rather than a dict: the bundle's JSON writer encodes it without sorting keys.
    """

    name: str
    value: str


def _prop(name: str, value: str) -> _Prop:
    return _Prop(f"sitesweep:{name}", printable(value))


def _component(
    env_of: Callable[[str], Optional[PythonEnv]], dist: Distribution, ref: str, show: PathShower
) -> Dict[str, Any]:
    env = env_of(dist.site_dir)
    props = [
        _prop("environment", show(env.prefix) if env is not None else ""),
        _prop("environment-kind", str(env.kind) if env is not None else ""),
        _prop("site-dir", show(dist.site_dir)),
        _prop("metadata-path", show(dist.path)),
        _prop("metadata-format", str(dist.format)),
    ]
    if dist.installer:
        props.append(_prop("installer", dist.installer))
    if dist.direct_url:
        props.append(_prop("direct-url", dist.direct_url))
    if not dist.version_valid:
        props.append(_prop("version-not-pep440", "true"))
    component: Dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": dist.raw_name or dist.name or "unnamed",
        "version": dist.version,
        "purl": purl(dist.name or dist.raw_name or "unnamed", dist.version),
        "properties": props,
    }
    if dist.record_sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": dist.record_sha256}]
        props.append(_prop("hash-of", "RECORD"))
    return component


def _ref(path: str) -> str:
    return f"dist:{printable(path)}"


def _components(result: ScanResult) -> Iterator[Dict[str, Any]]:
    """One component at a time (a large host's list of them is never held whole)."""
    env_of = environment_finder(result)
    show = path_shower(result)
    refs: Set[str] = set()
    ordered = sorted(result.inventory.distributions, key=lambda d: (d.site_dir, d.name, d.path))
    for dist in ordered:
        ref, n = _ref(dist.path), 1
        while ref in refs:  # two records of one path cannot happen; stay unique if it does
            n += 1
            ref = f"{_ref(dist.path)}#{n}"
        refs.add(ref)
        yield printable_tree(_component(env_of, dist, ref, show))


def _source(ident: str) -> Dict[str, str]:
    upper = ident.upper()
    name = (
        "GitHub Advisory Database"
        if upper.startswith("GHSA-")
        else "NVD"
        if upper.startswith("CVE-")
        else "OSV"
    )
    return {"name": name, "url": advisory_url(ident)}


def vulnerabilities(result: ScanResult) -> List[Dict[str, Any]]:
    """One vulnerability per pack with findings on installed distributions, by pack id."""
    versions = {d.path: d.version for d in result.inventory.distributions}
    affected: Dict[str, Dict[str, str]] = {}
    worst: Dict[str, Severity] = {}
    rules: Dict[str, Set[str]] = {}
    for finding in result.findings:
        hit = [p for p in finding.paths if p in versions]
        if not finding.pack or not hit:
            continue
        affected.setdefault(finding.pack, {}).update((p, versions[p]) for p in hit)
        rules.setdefault(finding.pack, set()).add(finding.rule)
        known = worst.get(finding.pack)
        if known is None or finding.severity.rank > known.rank:
            worst[finding.pack] = finding.severity
    out = []
    for pack_id in sorted(affected):
        pack = result.packs.get(pack_id)
        if pack is None:
            continue
        primary = primary_advisory(pack.advisories)
        vuln: Dict[str, Any] = {
            "bom-ref": f"vuln:{pack.id}",
            "id": primary or pack.id,
            "description": pack.title,
            "recommendation": pack.remediation.strip(),
            "ratings": [
                {
                    "source": {"name": f"sitesweep signature pack {pack.id} v{pack.version}"},
                    "severity": str(worst[pack_id]),
                    "method": "other",
                    "justification": "the worst finding of the pack on this host",
                }
            ],
            "affects": [
                {"ref": _ref(path), "versions": [{"version": version, "status": "affected"}]}
                for path, version in sorted(affected[pack_id].items())
            ],
            "properties": [
                _prop("pack", pack.id),
                *(_prop("rule", r) for r in sorted(rules[pack_id])),
            ],
        }
        if primary is not None:
            vuln["source"] = _source(primary)
        others = [i for i in pack.advisories if i != primary]
        if others:
            vuln["references"] = [{"id": i, "source": _source(i)} for i in others]
        if pack.references:
            vuln["advisories"] = [{"url": u} for u in pack.references]
        out.append(vuln)
    return out


def render_sbom(result: ScanResult, seed: str, timestamp: str) -> str:
    """The SBOM as JSON text.

    Args:
        result: the collection.
        seed: a string naming the bundle (its name), for the deterministic serial number.
        timestamp: ISO 8601 UTC time of the collection (``metadata.timestamp``).
    """
    return "".join(sbom_chunks(result, seed, timestamp))


def sbom_chunks(result: ScanResult, seed: str, timestamp: str) -> Iterator[str]:
    """:func:`render_sbom` in pieces, one component at a time (the same text)."""
    ident = result.inventory.identity
    host_props = [_prop("hostname", ident.hostname), _prop("live", str(result.inventory.live))]
    if ident.machine_id:
        host_props.append(_prop("machine-id", ident.machine_id))
    if ident.os_release:
        host_props.append(_prop("os-release", ident.os_release))
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(seed),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [{"type": "application", "name": "sitesweep", "version": __version__}]
            },
            "component": {
                "type": "device",
                "bom-ref": "host",
                "name": ident.hostname,
            },
            "properties": host_props,
        },
        "components": JsonArray(_components(result)),
    }
    found = vulnerabilities(result)
    if found:
        doc["vulnerabilities"] = printable_tree(found, frozenset({"recommendation"}))
    doc["metadata"] = printable_tree(doc["metadata"])
    yield from chunks(doc)  # json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True)
    yield "\n"
