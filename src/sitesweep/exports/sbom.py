"""A CycloneDX 1.6 JSON SBOM of every distribution in every environment.

One component per installed distribution and site directory: the same release installed in two
environments is two components (with distinct ``bom-ref``), since a responder removes it from each.
The serial number is a UUID 5 derived from the bundle: the same bundle always gives the same SBOM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Set
from urllib.parse import quote

from sitesweep import __version__
from sitesweep.bundle.jsontext import JsonArray, chunks
from sitesweep.engine import ScanResult
from sitesweep.exports.stream import environment_finder
from sitesweep.metadata.model import Distribution

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
    return _Prop(f"sitesweep:{name}", value)


def _component(
    env_of: Callable[[str], Optional[PythonEnv]], dist: Distribution, ref: str
) -> Dict[str, Any]:
    env = env_of(dist.site_dir)
    props = [
        _prop("environment", env.prefix if env is not None else ""),
        _prop("environment-kind", str(env.kind) if env is not None else ""),
        _prop("site-dir", dist.site_dir),
        _prop("metadata-path", dist.path),
        _prop("metadata-format", str(dist.format)),
    ]
    if dist.installer:
        props.append(_prop("installer", dist.installer))
    if dist.direct_url:
        props.append(_prop("direct-url", dist.direct_url))
    if not dist.version_valid:
        props.append(_prop("version-not-pep440", "true"))
    return {
        "type": "library",
        "bom-ref": ref,
        "name": dist.raw_name or dist.name or "unnamed",
        "version": dist.version,
        "purl": purl(dist.name or dist.raw_name or "unnamed", dist.version),
        "properties": props,
    }


def _components(result: ScanResult) -> Iterator[Dict[str, Any]]:
    """One component at a time (a large host's list of them is never held whole)."""
    env_of = environment_finder(result)
    refs: Set[str] = set()
    ordered = sorted(result.inventory.distributions, key=lambda d: (d.site_dir, d.name, d.path))
    for dist in ordered:
        ref, n = f"dist:{dist.path}", 1
        while ref in refs:  # two records of one path cannot happen; stay unique if it does
            n += 1
            ref = f"dist:{dist.path}#{n}"
        refs.add(ref)
        yield _component(env_of, dist, ref)


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
    yield from chunks(doc)  # json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True)
    yield "\n"
