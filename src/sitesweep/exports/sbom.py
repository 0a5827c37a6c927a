"""A CycloneDX 1.6 JSON SBOM of every distribution in every environment.

One component per installed distribution and site directory: the same release installed in two
environments is two components (with distinct ``bom-ref``), since a responder removes it from each.
The serial number is a UUID 5 derived from the bundle: the same bundle always gives the same SBOM.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Set
from urllib.parse import quote

from sitesweep import __version__
from sitesweep.engine import ScanResult
from sitesweep.metadata.model import Distribution

SPEC_VERSION = "1.6"
_NAMESPACE = uuid.UUID("6f1d8b52-6a51-4e3e-9a39-2f1c54c1b2a7")
"""Namespace of sitesweep's UUID 5 serial numbers (a fixed random UUID)."""


def purl(name: str, version: str) -> str:
    """``pkg:pypi/<name>@<version>``, percent-encoded as the purl spec asks."""
    return f"pkg:pypi/{quote(name.lower(), safe='.-_~')}@{quote(version, safe='.-_~')}"


def serial_number(seed: str) -> str:
    """``urn:uuid:`` plus a UUID 5 of ``seed`` (the bundle's identity)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, seed)}"


def _prop(name: str, value: str) -> Dict[str, str]:
    return {"name": f"sitesweep:{name}", "value": value}


def _component(result: ScanResult, dist: Distribution, ref: str) -> Dict[str, Any]:
    env = result.inventory.environment_of(dist.site_dir)
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


def _components(result: ScanResult) -> List[Dict[str, Any]]:
    components: List[Dict[str, Any]] = []
    refs: Set[str] = set()
    ordered = sorted(result.inventory.distributions, key=lambda d: (d.site_dir, d.name, d.path))
    for dist in ordered:
        ref, n = f"dist:{dist.path}", 1
        while ref in refs:  # two records of one path cannot happen; stay unique if it does
            n += 1
            ref = f"dist:{dist.path}#{n}"
        refs.add(ref)
        components.append(_component(result, dist, ref))
    return components


def render_sbom(result: ScanResult, seed: str, timestamp: str) -> str:
    """The SBOM as JSON text.

    Args:
        result: the collection.
        seed: a string naming the bundle (its name), for the deterministic serial number.
        timestamp: ISO 8601 UTC time of the collection (``metadata.timestamp``).
    """
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
        "components": _components(result),
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
