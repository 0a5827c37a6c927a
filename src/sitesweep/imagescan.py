"""What a scan of a container image adds: the image named in each finding, and ``image.json``.

The image door (:mod:`sitesweep.door.oci`) knows which layer last wrote each file. A finding about
a file of the image gets two evidence lines, the image and that layer's digest (with the build
step that made the layer, from the image history), so a responder knows which ``RUN`` line or
base image brought it in. ``image.json`` records the image's config as data: entrypoint and
command (redacted), environment variable *names* (never values), labels, every layer with its
build step, the history lines that ran ``pip install``, and the layer of every file the
inventory and the findings name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, Iterable, List

from sitesweep.door.oci import ImageDoor
from sitesweep.model import Evidence, Finding
from sitesweep.outcome import ScanResult

__all__ = ["IMAGE_DOC", "image_doc", "name_layers"]

IMAGE_DOC = "image.json"


def name_layers(result: ScanResult, door: ImageDoor) -> ScanResult:
    """Add the image and the layer that introduced each path to every finding about a file."""
    findings = tuple(_named(f, door) for f in result.findings)
    return replace(result, findings=findings)


def _named(finding: Finding, door: ImageDoor) -> Finding:
    added: List[Evidence] = []
    for path in finding.paths:
        layer = door.layer_of(path)
        if layer is None:
            continue
        if not added:
            added.append(Evidence("image", door.info.name))
        step = f" ({layer.created_by})" if layer.created_by else ""
        added.append(Evidence("layer", f"{path}: {layer.digest}{step}"))
    if not added:
        return finding
    return replace(finding, evidence=(*finding.evidence, *added), id=finding.id)


def image_doc(result: ScanResult, door: ImageDoor, own_hostname: str = "") -> Dict[str, Any]:
    """The ``image.json`` document (``own_hostname``: what the image's own ``/etc/hostname``
    says, kept for the record; the bundle's host is the image's name)."""
    info = door.info
    inv = result.inventory
    paths: List[str] = [p for f in result.findings for p in f.paths]
    paths += [p.file.path for p in inv.pth_files]
    paths += [h.file.path for h in inv.startup_hooks]
    paths += [d.path for d in inv.distributions]
    paths += [f.path for f in inv.files]
    return {
        "source": info.source,
        "name": info.name,
        "tags": list(info.tags),
        "hostname_in_image": own_hostname,
        "position": info.position,
        "images_in_archive": info.not_scanned + 1,
        "other_images_not_scanned": door.others_not_scanned,
        "config_digest": info.config_digest,
        "os": info.os,
        "architecture": info.architecture,
        "entrypoint": list(info.entrypoint),
        "cmd": list(info.cmd),
        "env_names": list(info.env_names),
        "labels": dict(info.labels),
        "layers": [
            {"digest": layer.digest, "media_type": layer.media_type, "created_by": layer.created_by}
            for layer in info.layers
        ],
        "pip_install_history": list(info.pip_history),
        "files": _layers_of(sorted(set(paths)), door),
    }


def _layers_of(paths: Iterable[str], door: ImageDoor) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for path in paths:
        layer = door.layer_of(path)
        if layer is not None:
            found[path] = layer.digest
    return found
